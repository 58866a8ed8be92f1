import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { withTransaction, type Database } from '../../src/db/index.js';
import { claimNextJob, countJobs, createJobWorker, enqueueJob, startJobWorker, lockClaimedJob, markJobDone, recordJobFailure, type JobHandler } from '../../src/jobs/index.js';
import { createServerTestDatabase, createTestDatabase, type BackendName, type TestServerDatabase } from '../helpers/db.js';
import { insertScene, insertStory } from '../helpers/fixtures.js';

const log = pino({ level: 'silent' });
const claimOf = (owner: string, leaseMs = 5_000, skipStoriesGenerating = false) => ({ owner, leaseMs, claimId: randomUUID(), skipStoriesGenerating });

async function jobRow(db: Database, storyId: string) {
  const { rows } = await db.query<{ status: string; attempts: number; last_error: string | null; run_after_ms: number }>(
    `SELECT status, attempts, last_error, (extract(epoch FROM run_after - clock_timestamp()) * 1000)::float8 AS run_after_ms FROM background_jobs WHERE story_id = $1`,
    [storyId],
  );
  return rows;
}

/** A story with one scene and a job row of its own, through the ordinary enqueue. */
async function storyWithJob(db: Database, maxAttempts = 5) {
  const storyId = await insertStory(db);
  const sceneId = await insertScene(db, storyId, null);
  await withTransaction(db, {}, (tx) => enqueueJob(tx, { storyId, kind: 'summary', sceneId, maxAttempts }));
  return { storyId, sceneId };
}

/** Writes a row per completion, so a test can count how many times a job's effect landed. */
function recordingHandler(db: Database, work: (signal: AbortSignal) => Promise<void> = async () => {}): JobHandler {
  return async (job, signal) => {
    await work(signal);
    return { write: async (tx) => void (await tx.query(`INSERT INTO memories (story_id, kind, content) VALUES ($1, 'fact', $2)`, [job.storyId, `done ${job.id}`])) };
  };
}

async function effects(db: Database, storyId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM memories WHERE story_id = $1 AND kind = 'fact'`, [storyId]);
  return rows[0]!.n;
}

describe.each<BackendName>(['embedded', 'server'])('background job queue (%s)', (backend) => {
  let db: Database;
  let dispose: () => Promise<void>;
  beforeAll(async () => ({ db, dispose } = await createTestDatabase(backend)), 60_000);
  afterAll(async () => dispose());

  it('keeps one job per (story, kind, scene) however often it is enqueued', async () => {
    const { storyId, sceneId } = await storyWithJob(db);
    const again = await withTransaction(db, {}, (tx) => enqueueJob(tx, { storyId, kind: 'summary', sceneId }));
    expect(again).toBe(false);
    expect(await jobRow(db, storyId)).toHaveLength(1);
  });

  it('runs a job once and records it done; a second worker finds nothing to do', async () => {
    const { storyId } = await storyWithJob(db);
    const worker = createJobWorker({ db, log, owner: 'w1', handlers: { summary: recordingHandler(db) }, skipStoriesGenerating: false });
    await worker.drain();
    expect(await createJobWorker({ db, log, owner: 'w2', handlers: { summary: recordingHandler(db) }, skipStoriesGenerating: false }).drain()).toBe(0);
    expect(await effects(db, storyId)).toBe(1);
    expect((await jobRow(db, storyId))[0]).toMatchObject({ status: 'done', attempts: 1 });
  });

  it('retries a failed job after a growing delay, then fails it for good', async () => {
    const { storyId } = await storyWithJob(db, 2);
    const failing: JobHandler = async () => {
      throw new Error('model unreachable');
    };
    const worker = createJobWorker({ db, log, owner: 'w1', handlers: { summary: failing }, skipStoriesGenerating: false });
    expect(await worker.runOnce()).toBe(true);
    const [first] = await jobRow(db, storyId);
    expect(first).toMatchObject({ status: 'queued', attempts: 1 });
    expect(first!.last_error).toContain('model unreachable');
    expect(first!.run_after_ms).toBeGreaterThan(300);
    // Not due yet: nothing is claimed until run_after passes.
    expect(await worker.runOnce()).toBe(false);
    await db.query(`UPDATE background_jobs SET run_after = now() WHERE story_id = $1`, [storyId]);
    expect(await worker.runOnce()).toBe(true);
    expect((await jobRow(db, storyId))[0]).toMatchObject({ status: 'failed', attempts: 2 });
    expect(await countJobs(db, storyId)).toEqual([{ kind: 'summary', status: 'failed', count: 1 }]);
  });

  it('takes over a job whose lease expired; the first claim’s late result is dropped', async () => {
    const { storyId } = await storyWithJob(db);
    const first = (await withTransaction(db, {}, (tx) => claimNextJob(tx, claimOf('dead', 100))))!;
    expect(first.storyId).toBe(storyId);
    // Live lease: nobody else may take it.
    expect(await withTransaction(db, {}, (tx) => claimNextJob(tx, claimOf('other')))).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 150));
    const second = (await withTransaction(db, {}, (tx) => claimNextJob(tx, claimOf('other'))))!;
    expect(second.id).toBe(first.id);
    expect(second.attempts).toBe(2);
    const lateLanded = await withTransaction(db, {}, async (tx) => (await lockClaimedJob(tx, first)) && (await markJobDone(tx, first), true));
    expect(lateLanded).toBe(false);
    expect(await recordJobFailure(db, first, 'late', 0)).toBe(false);
    const landed = await withTransaction(db, {}, async (tx) => (await lockClaimedJob(tx, second)) && (await markJobDone(tx, second), true));
    expect(landed).toBe(true);
  });

  it('gives a job in progress back, unwritten and its attempt not counted, when its worker stops', async () => {
    const { storyId } = await storyWithJob(db);
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const waitsForAbort = recordingHandler(db, (signal) => {
      started();
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    });
    const worker = await startJobWorker({ db, log, owner: 'stopping', handlers: { summary: waitsForAbort }, skipStoriesGenerating: false, pollMs: 50 });
    await running;
    await worker.stop();
    expect(await effects(db, storyId)).toBe(0);
    expect((await jobRow(db, storyId))[0]).toMatchObject({ status: 'queued', attempts: 0 });
  });

  it('leaves a story alone while its turn waits on the model, when so configured', async () => {
    const { storyId } = await storyWithJob(db);
    await db.query(
      `INSERT INTO turns (story_id, kind, request_hash, status, lease_owner, lease_expires_at) VALUES ($1, 'open', 'h', 'generating', 'x', now() + interval '1 minute')`,
      [storyId],
    );
    const polite = createJobWorker({ db, log, owner: 'w', handlers: { summary: recordingHandler(db) }, skipStoriesGenerating: true });
    await polite.drain();
    expect(await effects(db, storyId)).toBe(0);
    await db.query(`UPDATE turns SET status = 'failed', error_code = 'cancelled', lease_owner = NULL, lease_expires_at = NULL WHERE story_id = $1`, [storyId]);
    await polite.drain();
    expect(await effects(db, storyId)).toBe(1);
  });
});

describe('background job queue across connections (server)', () => {
  let server: TestServerDatabase;
  beforeAll(async () => (server = await createServerTestDatabase()), 60_000);
  afterAll(async () => server.drop());

  it('passes over a job another connection is claiming instead of waiting for it (SKIP LOCKED)', async () => {
    const { db } = server;
    const { storyId } = await storyWithJob(db);
    const holder = await db.acquire();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM background_jobs WHERE story_id = $1 FOR UPDATE`, [storyId]);
      const started = Date.now();
      const claimed = await withTransaction(db, {}, (tx) => claimNextJob(tx, claimOf('other')));
      expect(claimed?.storyId).not.toBe(storyId);
      expect(Date.now() - started).toBeLessThan(1_000);
      await holder.query('ROLLBACK');
    } finally {
      holder.release();
    }
  });

  it('runs each of many jobs exactly once with four workers racing', async () => {
    const { db } = server;
    const stories = await Promise.all(Array.from({ length: 12 }, () => storyWithJob(db)));
    const slow = recordingHandler(db, () => new Promise((resolve) => setTimeout(resolve, 20)));
    const workers = Array.from({ length: 4 }, (_, i) => createJobWorker({ db, log, owner: `w${i}`, handlers: { summary: slow }, skipStoriesGenerating: false }));
    const ran = await Promise.all(workers.map((worker) => worker.drain()));
    expect(ran.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(12);
    for (const { storyId } of stories) expect(await effects(db, storyId)).toBe(1);
  });
});
