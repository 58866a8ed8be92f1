import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { startServeProcess, type ServeProcess } from './serve-process.js';
import { call } from './test-server.js';
import { FakeModelServer } from '../../scripts/hammer/fake-model-server.js';

// Two serve processes on one database and one model server that takes 3 s per answer and
// counts every call it receives, by process (its URL prefix) and by story title.
let database: TestServerDatabase;
let model: FakeModelServer;
let a: ServeProcess;
let b: ServeProcess;

beforeAll(async () => {
  database = await createServerTestDatabase({ poolSize: 2 });
  model = await new FakeModelServer({ latencyMs: [3_000, 3_000], faults: { hangRate: 0, garbageRate: 0 }, seed: 7, hangMaxMs: 30_000 }).start();
  const env = (name: string) => ({
    DATABASE_URL: database.url,
    LLM_PROVIDER: 'openai',
    OPENAI_MODEL: 'hammer-model',
    OPENAI_BASE_URL: model.baseUrlFor(name),
    EMBEDDINGS_PROVIDER: 'offline',
    LIVINGWORLD_LLM_TIMEOUT_MS: '20000',
    LIVINGWORLD_TURN_RATE_LIMIT: '1000',
  });
  [a, b] = await Promise.all([startServeProcess({ env: env('a'), startTimeoutMs: 90_000 }), startServeProcess({ env: env('b'), startTimeoutMs: 90_000 })]);
}, 200_000);
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await model?.close();
  await database?.drop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function newStory(title: string): Promise<string> {
  const created = await call(b.url, 'POST', '/api/stories', { title, setting: 'A ferry crossing in the dark.' });
  expect(created.status).toBe(201);
  return created.body.story.id;
}

function sceneCalls(title: string) {
  return model.calls.filter((c) => c.purpose === 'scene' && c.storyTitle === title);
}

/** Starts a turn on `url` that the test can abandon as a client would (closing the connection). */
function startTurn(url: string, storyId: string) {
  const controller = new AbortController();
  const answer = fetch(`${url}/api/stories/${storyId}/turns`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ choice: 1 }),
    signal: controller.signal,
  })
    .then(async (r) => ({ status: r.status, body: (await r.json()) as any }))
    // A client that left has no answer.
    .catch(() => ({ status: 0, body: null as any }));
  return { answer, abort: () => controller.abort() };
}

async function turnsOf(storyId: string) {
  const { rows } = await database.db.query<{ status: string; error_code: string | null; model_calls: number }>(
    `SELECT status, error_code, model_calls FROM turns WHERE story_id = $1 AND kind <> 'open' ORDER BY created_at`,
    [storyId],
  );
  return rows;
}

async function waitUntil(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

describe('a turn joined from another process belongs to all its waiters', () => {
  it('the owner leaving does not cancel it: the joiners get the one scene, and the model is called once', async () => {
    const title = 'Owner leaves';
    const storyId = await newStory(title);
    const callsBefore = sceneCalls(title).length;
    const owner = startTurn(a.url, storyId);
    await waitUntil(() => model.inFlight('a').length > 0, 'the owner calls the model');
    const joiners = Array.from({ length: 5 }, () => startTurn(b.url, storyId));
    // Let every joiner reach the turn before the owner's client goes (800 ms into the 3 s call).
    await sleep(800);
    owner.abort();
    await owner.answer;
    const answers = await Promise.all(joiners.map((j) => j.answer));
    expect(answers.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
    expect(new Set(answers.map((r) => r.body.scene.id)).size).toBe(1);
    expect(sceneCalls(title).length - callsBefore).toBe(1);
    expect(answers.every((r) => r.body.how === 'joined')).toBe(true);
    expect(await turnsOf(storyId)).toEqual([{ status: 'succeeded', error_code: null, model_calls: 1 }]);
  }, 60_000);

  it('when every waiter on both processes has gone, the turn is cancelled at once and writes no scene', async () => {
    const title = 'Everyone leaves';
    const storyId = await newStory(title);
    const owner = startTurn(a.url, storyId);
    await waitUntil(() => model.inFlight('a').length > 0, 'the owner calls the model');
    const joiner = startTurn(b.url, storyId);
    await sleep(500);
    owner.abort();
    await sleep(300);
    // The owner's generation still runs for the joiner on the other process.
    expect(model.inFlight('a')).toHaveLength(1);
    joiner.abort();
    await Promise.all([owner.answer, joiner.answer]);
    // The last waiter left on B; A's generation stops well before the model would answer.
    await waitUntil(() => model.inFlight('a').length === 0, 'the generation on A stops', 2_000);
    expect(sceneCalls(title).at(-1)!.outcome).toBe('closed');
    await waitUntil(async () => (await turnsOf(storyId)).every((t) => t.status !== 'generating'), 'the turn is over');
    expect(await turnsOf(storyId)).toEqual([{ status: 'failed', error_code: 'cancelled', model_calls: 1 }]);
    const { rows } = await database.db.query('SELECT 1 FROM scenes WHERE story_id = $1', [storyId]);
    expect(rows).toHaveLength(1);
  }, 60_000);
});
