import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { createCountingProvider } from '../helpers/counting-provider.js';
import { call, startTestServer, type TestServer } from './test-server.js';

let database: TestServerDatabase;
let server: TestServer;
const provider = createCountingProvider({ latencyMs: 1_500 });

beforeAll(async () => {
  database = await createServerTestDatabase({ poolSize: 10 });
  server = await startTestServer(database.db, { provider });
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
});

async function waitForTurn(storyId: string, turnCount: number) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { rows } = await database.db.query<{ status: string; error_code: string | null }>(
      'SELECT status, error_code FROM turns WHERE story_id = $1 ORDER BY created_at',
      [storyId],
    );
    if (rows.length >= turnCount && rows.at(-1)!.status !== 'generating') return rows.at(-1)!;
    if (Date.now() > deadline) throw new Error(`turn still ${JSON.stringify(rows.at(-1))}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('a client that goes away mid-turn', () => {
  it.each(['text/event-stream', 'application/json'])('aborts the turn (%s): it is marked cancelled and writes no scene', async (accept) => {
    const created = await call(server.url, 'POST', '/api/stories', { title: 'Gone', setting: 'A lighthouse.' });
    const storyId = created.body.story.id as string;
    const controller = new AbortController();
    const request = fetch(`${server.url}/api/stories/${storyId}/turns`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept },
      body: JSON.stringify({ choice: 1 }),
      signal: controller.signal,
    }).then((r) => r.text());
    await new Promise((resolve) => setTimeout(resolve, 400));
    controller.abort();
    await request.catch(() => undefined);
    expect(await waitForTurn(storyId, 2)).toEqual({ status: 'failed', error_code: 'cancelled' });
    const { rows } = await database.db.query('SELECT 1 FROM scenes WHERE story_id = $1', [storyId]);
    expect(rows).toHaveLength(1);
    expect(server.ctx.turns.size).toBe(0);
  });
});
