import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { startServeProcess, type ServeProcess } from './serve-process.js';
import { call } from './test-server.js';
import { startLostReplyProxy, type LostReplyProxy } from '../../scripts/hammer/lost-reply-proxy.js';
import { setStoryStatus } from '../../src/story/set-story-status.js';

// Two serve processes on one database, A through a proxy that can lose COMMIT replies; the
// offline storyteller takes 1.5 s per scene so that things can happen while one is written.
let database: TestServerDatabase;
let proxy: LostReplyProxy;
let a: ServeProcess;
let b: ServeProcess;
const env = { LIVINGWORLD_TURN_RATE_LIMIT: '1000', LIVINGWORLD_OFFLINE_LATENCY_MS: '1500' };

beforeAll(async () => {
  database = await createServerTestDatabase({ poolSize: 2 });
  proxy = await startLostReplyProxy(database.url);
  [a, b] = await Promise.all([
    startServeProcess({ env: { ...env, DATABASE_URL: proxy.url }, startTimeoutMs: 90_000 }),
    startServeProcess({ env: { ...env, DATABASE_URL: database.url }, startTimeoutMs: 90_000 }),
  ]);
}, 200_000);
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await proxy?.close();
  await database?.drop();
});

async function newStory(): Promise<string> {
  const created = await call(b.url, 'POST', '/api/stories', { title: 'Edges', setting: 'A ferry crossing in the dark.' });
  expect(created.status).toBe(201);
  return created.body.story.id;
}

async function generatingTurn(storyId: string, timeoutMs = 10_000): Promise<{ id: string; model_calls: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await database.db.query<{ id: string; model_calls: number }>(`SELECT id, model_calls FROM turns WHERE story_id = $1 AND status = 'generating'`, [storyId]);
    if (rows[0]) return rows[0];
    if (Date.now() > deadline) throw new Error('no turn started generating');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the edges of the turn protocol, across two processes', () => {
  it('a claim whose COMMIT reply is lost is found and released at once, not left leased for the whole lease', async () => {
    const storyId = await newStory();
    const lost = proxy.loseNextCommit(/INSERT INTO turns/);
    const started = Date.now();
    const taken = await call(a.url, 'POST', `/api/stories/${storyId}/turns`, { choice: 1 }, { 'idempotency-key': randomUUID() });
    await lost;
    // The lease is 30 s: a story held by a lost claim would keep this request (or its retry) waiting that long.
    expect(taken.status).toBe(201);
    expect(Date.now() - started).toBeLessThan(15_000);
    const { rows } = await database.db.query<{ status: string; error_message: string | null }>(`SELECT status, error_message FROM turns WHERE story_id = $1 ORDER BY created_at`, [storyId]);
    expect(rows.filter((t) => t.status === 'generating')).toHaveLength(0);
    expect(rows.filter((t) => t.status === 'succeeded')).toHaveLength(2);
    // Undo works straight away: nothing holds the story.
    expect((await call(b.url, 'POST', `/api/stories/${storyId}/undo`, {})).status).toBe(200);
  });

  it('counts a model call on the turn before the call returns', async () => {
    const storyId = await newStory();
    const taking = call(b.url, 'POST', `/api/stories/${storyId}/turns`, { choice: 2 });
    const turn = await generatingTurn(storyId);
    // Poll until the call is counted or the turn ends; the count must appear while it still generates.
    const deadline = Date.now() + 30_000;
    let seen = { model_calls: turn.model_calls, status: 'generating' };
    while (seen.model_calls < 1 && seen.status === 'generating' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      seen = (await database.db.query<{ model_calls: number; status: string }>(`SELECT model_calls, status FROM turns WHERE id = $1`, [turn.id])).rows[0]!;
    }
    const { status, model_calls: calls } = seen;
    expect(status).toBe('generating');
    expect(calls).toBe(1);
    expect((await taking).status).toBe(201);
    expect((await database.db.query<{ model_calls: number }>(`SELECT model_calls FROM turns WHERE id = $1`, [turn.id])).rows[0]!.model_calls).toBe(1);
  });

  it('archiving refuses while a turn is in flight, naming it', async () => {
    const storyId = await newStory();
    const taking = call(a.url, 'POST', `/api/stories/${storyId}/turns`, { choice: 1 });
    const turn = await generatingTurn(storyId);
    await expect(setStoryStatus(database.db, storyId, 'archived')).rejects.toMatchObject({ code: 'turn_conflict', details: { turnId: turn.id } });
    expect((await taking).status).toBe(201);
    await setStoryStatus(database.db, storyId, 'archived');
    expect((await call(b.url, 'POST', `/api/stories/${storyId}/turns`, { choice: 1 })).body.error.code).toBe('story_archived');
  });

  it('a turn whose story was archived meanwhile commits nothing onto it', async () => {
    const storyId = await newStory();
    const taking = call(b.url, 'POST', `/api/stories/${storyId}/turns`, { choice: 1 });
    await generatingTurn(storyId);
    // An archive written past the refusal (an older process, a hand edit): the commit still refuses.
    await database.db.query(`UPDATE stories SET status = 'archived' WHERE id = $1`, [storyId]);
    const taken = await taking;
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe('story_archived');
    expect(Number((await database.db.query<{ n: string }>(`SELECT count(*) AS n FROM scenes WHERE story_id = $1`, [storyId])).rows[0]!.n)).toBe(1);
  });
});
