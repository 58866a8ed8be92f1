import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { withTransaction } from '../../src/db/index.js';
import { createJobWorker, enqueueJob, type JobHandler } from '../../src/jobs/index.js';
import { decideClaim } from '../../src/story/claim-turn.js';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { insertScene, insertStory } from '../helpers/fixtures.js';

const log = pino({ level: 'silent' });

/**
 * A background job lands its result by inserting rows that reference the story, which takes
 * FOR KEY SHARE on the story row. A turn's claim locks that row too; the two must not wait
 * on each other, or background work would delay the player.
 */
describe('story row lock against a landing background job (server)', () => {
  let server: TestServerDatabase;
  beforeAll(async () => void (server = await createServerTestDatabase()), 60_000);
  afterAll(async () => server.drop());

  it('a job completion holding its transaction open does not block a turn claim; FOR UPDATE would have', async () => {
    const { db } = server;
    const storyId = await insertStory(db);
    const sceneId = await insertScene(db, storyId, null);
    await withTransaction(db, {}, (tx) => enqueueJob(tx, { storyId, kind: 'summary', sceneId }));

    let landed!: () => void;
    const writeHeld = new Promise<void>((resolve) => (landed = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const holdingHandler: JobHandler = async (job) => ({
      write: async (tx) => {
        // The job's real kind of write: a row referencing the story (foreign key → FOR KEY SHARE).
        await tx.query(`INSERT INTO memories (story_id, kind, content) VALUES ($1, 'fact', $2)`, [job.storyId, `done ${job.id}`]);
        landed();
        await gate;
      },
    });
    const worker = createJobWorker({ db, log, owner: 'job-worker', handlers: { summary: holdingHandler }, skipStoriesGenerating: false });
    const running = worker.runOnce();
    await writeHeld;

    try {
      // The completion's transaction is open and holds its KEY SHARE on the story row.
      const { rows: held } = await db.query<{ modes: string[] }>(
        `SELECT array_agg(DISTINCT l.mode ORDER BY l.mode) AS modes FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.relation = 'stories'::regclass AND a.pid <> pg_backend_pid() AND a.state = 'idle in transaction'`,
      );
      expect(held[0]!.modes).toContain('RowShareLock');

      // Before: the turn protocol's story lock was FOR UPDATE, which conflicts with KEY SHARE.
      const probe = await db.acquire();
      try {
        await probe.exec(`BEGIN; SET LOCAL lock_timeout = '300ms'`);
        await expect(probe.query('SELECT id FROM stories WHERE id = $1 FOR UPDATE', [storyId])).rejects.toMatchObject({ code: '55P03' });
        await probe.exec('ROLLBACK');
      } finally {
        probe.release();
      }

      // Now: the claim (FOR NO KEY UPDATE, plus the touch of the row) goes through at once.
      const started = Date.now();
      const decision = await withTransaction(db, { lockTimeoutMs: 1_000, maxAttempts: 1 }, (tx) =>
        decideClaim(tx, storyId, { kind: 'open', choiceNumber: null, instruction: null, fromSceneId: null, idempotencyKey: null }, { owner: 'turn', leaseMs: 30_000, claimId: randomUUID() }),
      );
      expect(decision.action).toBe('generate');
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      release();
    }
    expect(await running).toBe(true);
    const { rows } = await db.query<{ status: string }>(`SELECT status FROM background_jobs WHERE story_id = $1`, [storyId]);
    expect(rows).toEqual([{ status: 'done' }]);
  });
});
