import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { startServeProcess, type ServeProcess } from './serve-process.js';
import { largeStoryArchive } from '../../scripts/hammer/large-archive.js';

// Two serve processes on one database; A is stopped with SIGTERM while large imports are in flight.
let database: TestServerDatabase;
let a: ServeProcess;
let b: ServeProcess;

beforeAll(async () => {
  database = await createServerTestDatabase({ poolSize: 2 });
  [a, b] = await Promise.all([
    startServeProcess({ env: { DATABASE_URL: database.url, LIVINGWORLD_SHUTDOWN_GRACE_MS: '300', LIVINGWORLD_POOL_SIZE: '4' }, startTimeoutMs: 90_000 }),
    startServeProcess({ env: { DATABASE_URL: database.url }, startTimeoutMs: 90_000 }),
  ]);
}, 200_000);
afterAll(async () => {
  await Promise.all([a?.stop('SIGKILL'), b?.stop()]);
  await database?.drop();
});

type Outcome = { status: number; code?: string; retryAfter?: string | null; storyId?: string; error?: string };

async function importTo(url: string, file: Buffer, key: string): Promise<Outcome> {
  try {
    const response = await fetch(`${url}/api/import?filename=flats.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: file,
    });
    const body = (await response.json()) as any;
    return { status: response.status, code: body?.error?.code, retryAfter: response.headers.get('retry-after'), storyId: body?.storyId };
  } catch (error) {
    return { status: 0, error: String((error as Error).cause ?? error) };
  }
}

async function importedTitles(): Promise<string[]> {
  const { rows } = await database.db.query<{ title: string }>(`SELECT title FROM stories WHERE title LIKE 'Flats %' ORDER BY title`);
  return rows.map((r) => r.title);
}

describe('SIGTERM while large imports are in flight', () => {
  it('every client gets its story (201) or 503 shutting_down with Retry-After, and the stories written are exactly the 201s', async () => {
    const clients = Array.from({ length: 12 }, (_, i) => ({ title: `Flats ${String(i + 1).padStart(2, '0')}`, key: randomUUID() }));
    const files = clients.map((c) => Buffer.from(largeStoryArchive(c.title, 10 * 1024 * 1024)));
    const sending = clients.map((c, i) => importTo(a.url, files[i]!, c.key));
    await new Promise((resolve) => setTimeout(resolve, 250));
    const exit = a.stop('SIGTERM', 30_000);
    const outcomes = await Promise.all(sending);
    expect(await exit).toBe(0);
    for (const outcome of outcomes) {
      if (outcome.status === 201) continue;
      expect(outcome).toMatchObject({ status: 503, code: 'shutting_down', retryAfter: expect.stringMatching(/^\d+$/) });
    }
    const answered = clients.filter((_, i) => outcomes[i]!.status === 201).map((c) => c.title);
    // The grace is short: some imports were cut off (and so wrote nothing).
    expect(answered.length).toBeLessThan(clients.length);
    expect(await importedTitles()).toEqual(answered.sort());
    expect(a.stderr()).not.toMatch(/Cannot use a pool after calling end/);
    // A request answered 503 at the deadline that fails afterwards is not logged as a server error.
    expect(a.stderr()).not.toMatch(/reply.sent = true/);

    // Every client sends its request again, with its key, to the process still running: one story each.
    const retried = await Promise.all(clients.map((c, i) => importTo(b.url, files[i]!, c.key)));
    expect(retried.map((r) => r.status)).toEqual(clients.map(() => 201));
    for (const [i, outcome] of outcomes.entries()) if (outcome.status === 201) expect(retried[i]!.storyId).toBe(outcome.storyId);
    expect(await importedTitles()).toEqual(clients.map((c) => c.title));
  }, 180_000);
});
