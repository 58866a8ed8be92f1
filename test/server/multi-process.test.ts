import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { collectEvents, startServeProcess, type ServeProcess } from './serve-process.js';
import { call } from './test-server.js';

let database: TestServerDatabase;
let a: ServeProcess;
let b: ServeProcess;

beforeAll(async () => {
  database = await createServerTestDatabase({ poolSize: 2 });
  [a, b] = await Promise.all([
    startServeProcess({ env: { DATABASE_URL: database.url } }),
    startServeProcess({ env: { DATABASE_URL: database.url } }),
  ]);
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await database?.drop();
});

describe('two serve processes on one PostgreSQL database', () => {
  it('relays a turn taken through process A to an SSE client held on process B within 1 s', async () => {
    const created = await call(a.url, 'POST', '/api/stories', { title: 'Two Doors', setting: 'A station between two cities.' });
    expect(created.status).toBe(201);
    const storyId = created.body.story.id as string;
    const watcher = collectEvents(`${b.url}/api/stories/${storyId}/events`);
    try {
      await watcher.waitFor((e) => e.event === 'ready');
      for (let turn = 1; turn <= 3; turn++) {
        const taken = await call(a.url, 'POST', `/api/stories/${storyId}/turns`, { choice: turn });
        expect(taken.status).toBe(201);
        const committedAt = Date.now();
        const seen = await watcher.waitFor((e) => e.event === 'scene' && (e.data as { sceneId: string }).sceneId === taken.body.scene.id, 1_000);
        expect(seen.data).toMatchObject({ scene: { id: taken.body.scene.id, content: taken.body.scene.content } });
        expect(Date.now() - committedAt).toBeLessThan(1_000);
      }
      // And the other way round: a rewind through B reaches a watcher on A.
      const watcherOnA = collectEvents(`${a.url}/api/stories/${storyId}/events`);
      try {
        await watcherOnA.waitFor((e) => e.event === 'ready');
        const undone = await call(b.url, 'POST', `/api/stories/${storyId}/undo`, {});
        expect(undone.status).toBe(200);
        await watcherOnA.waitFor((e) => e.event === 'head' && (e.data as { sceneId: string }).sceneId === undone.body.scene.id, 1_000);
      } finally {
        await watcherOnA.stop();
      }
    } finally {
      await watcher.stop();
    }
  });
});
