import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { collectEvents, startServeProcess, type ServeProcess } from './serve-process.js';
import { call, parseEventStream } from './test-server.js';

let database: TestServerDatabase;
const processes: ServeProcess[] = [];
let storyId: string;

beforeAll(async () => {
  database = await createServerTestDatabase({ poolSize: 2 });
});
afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await database?.drop();
});

async function serve(latencyMs: number, graceMs: number): Promise<ServeProcess> {
  const started = await startServeProcess({
    env: { DATABASE_URL: database.url, LIVINGWORLD_OFFLINE_LATENCY_MS: String(latencyMs), LIVINGWORLD_SHUTDOWN_GRACE_MS: String(graceMs), LIVINGWORLD_TURN_LEASE_MS: '2000' },
  });
  processes.push(started);
  return started;
}

async function turnsOf(id: string) {
  const { rows } = await database.db.query<{ status: string; error_code: string | null }>('SELECT status, error_code FROM turns WHERE story_id = $1 ORDER BY created_at', [id]);
  return rows;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('SIGTERM while a turn is being written (slow storyteller)', () => {
  it('lets a turn that fits in the grace period finish: the client gets its scene, events streams close, exit 0', async () => {
    const server = await serve(2_500, 10_000);
    const created = await call(server.url, 'POST', '/api/stories', { title: 'Last Train', setting: 'A night train to the coast.' });
    expect(created.status).toBe(201);
    storyId = created.body.story.id;
    const watcher = collectEvents(`${server.url}/api/stories/${storyId}/events`);
    await watcher.waitFor((e) => e.event === 'ready');
    const turn = call(server.url, 'POST', `/api/stories/${storyId}/turns`, { choice: 1 });
    await sleep(500);
    const signalledAt = Date.now();
    const exitCode = server.stop('SIGTERM');
    const result = await turn;
    expect(result.status).toBe(201);
    expect(result.body.scene.sceneNumber).toBe(2);
    expect(await exitCode).toBe(0);
    // Finished turn, closed streams and pool: no waiting out the grace period.
    expect(Date.now() - signalledAt).toBeLessThan(6_000);
    await watcher.stop();
    expect((await turnsOf(storyId)).map((t) => t.status)).toEqual(['succeeded', 'succeeded']);
  });

  it('aborts a turn still running at the deadline: the client gets 503 shutting_down (not 499), the turn is marked failed, exit 0', async () => {
    const server = await serve(8_000, 1_000);
    const response = fetch(`${server.url}/api/stories/${storyId}/turns`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ choice: 2 }),
    }).then((r) => r.text());
    await sleep(700);
    const stoppedAt = Date.now();
    const exitCode = await server.stop('SIGTERM');
    expect(exitCode).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(8_000);
    const events = parseEventStream(await response);
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { status: 503, error: { code: 'shutting_down' } } });
    const turns = await turnsOf(storyId);
    expect(turns.filter((t) => t.status === 'generating')).toEqual([]);
    expect(turns.at(-1)).toEqual({ status: 'failed', error_code: 'shutting_down' });
    // The story did not move, and the next process can carry on from where it stood.
    const next = await serve(0, 1_000);
    const again = await call(next.url, 'POST', `/api/stories/${storyId}/turns`, { choice: 2 });
    expect(again.status).toBe(201);
    expect(again.body.scene.sceneNumber).toBe(3);
    expect(await next.stop('SIGTERM')).toBe(0);
  });
});
