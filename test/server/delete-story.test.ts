import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOfflineProvider } from '../../src/llm/providers/offline.js';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from './test-server.js';

let database: TestServerDatabase;
let server: TestServer;

beforeAll(async () => {
  database = await createServerTestDatabase({ poolSize: 10 });
  // Slow enough that a turn can be caught while it is being written.
  server = await startTestServer(database.db, { provider: createOfflineProvider({ seed: 3, latencyMs: 1_500 }) });
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
});

/** Rows that belong to the story, in every table that has a story_id column. */
async function rowsOf(storyId: string): Promise<Record<string, number>> {
  const { rows: tables } = await database.db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'story_id' ORDER BY table_name`,
  );
  const counts: Record<string, number> = {};
  for (const { table_name } of tables) {
    const { rows } = await database.db.query<{ n: string }>(`SELECT count(*) AS n FROM "${table_name}" WHERE story_id = $1`, [storyId]);
    counts[table_name] = Number(rows[0]!.n);
  }
  const { rows } = await database.db.query<{ n: string }>(`SELECT count(*) AS n FROM stories WHERE id = $1`, [storyId]);
  counts['stories'] = Number(rows[0]!.n);
  return counts;
}

async function newStory(title: string): Promise<{ id: string; headSceneId: string }> {
  const created = await call(server.url, 'POST', '/api/stories', { title, setting: 'A harbour town in fog; you are a new customs clerk.' });
  expect(created.status).toBe(201);
  return created.body.story;
}

describe('DELETE /api/stories/:id', () => {
  it('deletes the story and every row that belongs to it, and leaves other stories alone', async () => {
    const story = await newStory('To delete');
    const other = await newStory('To keep');
    const turn = await call(server.url, 'POST', `/api/stories/${story.id}/turns`, { choice: 1, instruction: 'ask about the fog' });
    expect(turn.status).toBe(201);
    expect((await call(server.url, 'POST', `/api/stories/${story.id}/lore`, { title: 'The Drowned Bell', content: 'It rings before storms.', keywords: ['bell'] })).status).toBe(201);
    const before = await rowsOf(story.id);
    expect(before['scenes']).toBe(2);
    expect(before['turns']).toBeGreaterThanOrEqual(2);
    expect(before['lore_entries']).toBe(1);
    const otherBefore = await rowsOf(other.id);

    const deleted = await call(server.url, 'DELETE', `/api/stories/${story.id}`);
    expect(deleted.status).toBe(204);
    expect(Object.values(await rowsOf(story.id)).every((n) => n === 0), JSON.stringify(await rowsOf(story.id))).toBe(true);
    expect(await rowsOf(other.id)).toEqual(otherBefore);
    expect((await call(server.url, 'GET', `/api/stories/${story.id}`)).status).toBe(404);
    const again = await call(server.url, 'DELETE', `/api/stories/${story.id}`);
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('not_found');
  });

  it('refuses with 409 turn_in_progress while a scene is being written, and deletes once it is done', async () => {
    const story = await newStory('Busy');
    const turn = call(server.url, 'POST', `/api/stories/${story.id}/turns`, { choice: 2 });
    // Bounded wait until the turn is claimed (generating) in the database.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { rows } = await database.db.query(`SELECT 1 FROM turns WHERE story_id = $1 AND status = 'generating'`, [story.id]);
      if (rows.length > 0) break;
      if (Date.now() > deadline) throw new Error('the turn never started');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const refused = await call(server.url, 'DELETE', `/api/stories/${story.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('turn_in_progress');
    expect((await turn).status).toBe(201);
    expect((await rowsOf(story.id))['scenes']).toBe(2);
    expect((await call(server.url, 'DELETE', `/api/stories/${story.id}`)).status).toBe(204);
    expect((await rowsOf(story.id))['stories']).toBe(0);
  });

  it('answers an unknown or malformed id with 404 and deletes nothing', async () => {
    const kept = await newStory('Kept');
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-story']) {
      const response = await call(server.url, 'DELETE', `/api/stories/${id}`);
      expect(response.status).toBe(404);
    }
    expect((await rowsOf(kept.id))['stories']).toBe(1);
  });
});
