import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction, type Database } from '../../src/db/index.js';
import { metricsRegistry } from '../../src/metrics.js';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { insertStory } from '../helpers/fixtures.js';

async function retriesFor(sqlstate: string): Promise<number> {
  const metric = await metricsRegistry.getSingleMetric('livingworld_transaction_retries_total')!.get();
  return metric.values.find((v) => v.labels['sqlstate'] === sqlstate)?.value ?? 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let server: TestServerDatabase;
let db: Database;
beforeAll(async () => {
  server = await createServerTestDatabase({ poolSize: 10 });
  db = server.db;
});
afterAll(async () => server.drop());

describe('withTransaction on a real PostgreSQL server', () => {
  it('retries a forced serialization failure and both writers end up committed', async () => {
    const story = await insertStory(db);
    const before = await retriesFor('40001');
    let attempts = 0;
    let releaseOther!: () => void;
    const otherMayCommit = new Promise<void>((r) => (releaseOther = r));
    // Two SERIALIZABLE transactions read the version then both write it: the classic write skew.
    const first = withTransaction(db, { isolation: 'serializable' }, async (tx) => {
      attempts++;
      const { rows } = await tx.query<{ version: number }>('SELECT version FROM stories WHERE id = $1', [story]);
      if (attempts === 1) await otherMayCommit;
      await tx.query('UPDATE stories SET version = $2 + 1 WHERE id = $1', [story, rows[0]!.version]);
    });
    const second = withTransaction(db, { isolation: 'serializable' }, async (tx) => {
      const { rows } = await tx.query<{ version: number }>('SELECT version FROM stories WHERE id = $1', [story]);
      await tx.query('UPDATE stories SET version = $2 + 1 WHERE id = $1', [story, rows[0]!.version]);
    });
    await second;
    releaseOther();
    await first;
    expect(attempts).toBe(2);
    expect(await retriesFor('40001')).toBe(before + 1);
    const { rows } = await db.query<{ version: number }>('SELECT version FROM stories WHERE id = $1', [story]);
    expect(rows[0]!.version).toBe(2);
  });

  it('retries the victim of a deadlock', async () => {
    const a = await insertStory(db);
    const b = await insertStory(db);
    const before = await retriesFor('40P01');
    let bothLocked = 0;
    const barrier = async () => {
      bothLocked++;
      while (bothLocked < 2) await sleep(5);
    };
    let runs = 0;
    const lockInOrder = (first: string, second: string) =>
      withTransaction(db, { lockTimeoutMs: 10_000 }, async (tx) => {
        runs++;
        await tx.query('SELECT 1 FROM stories WHERE id = $1 FOR UPDATE', [first]);
        if (runs <= 2) await barrier();
        await tx.query('SELECT 1 FROM stories WHERE id = $1 FOR UPDATE', [second]);
        await tx.query('UPDATE stories SET version = version + 1 WHERE id = ANY($1)', [[first, second]]);
      });
    await Promise.all([lockInOrder(a, b), lockInOrder(b, a)]);
    expect(await retriesFor('40P01')).toBe(before + 1);
    const { rows } = await db.query<{ version: number }>('SELECT version FROM stories WHERE id = ANY($1) ORDER BY id', [[a, b]]);
    expect(rows.map((r) => r.version)).toEqual([2, 2]);
  });

  it('retries a lock timeout with backoff and succeeds once the holder lets go', async () => {
    const story = await insertStory(db);
    const before = await retriesFor('55P03');
    const holder = await db.acquire();
    await holder.exec('BEGIN');
    await holder.query('SELECT 1 FROM stories WHERE id = $1 FOR UPDATE', [story]);
    setTimeout(() => void holder.exec('COMMIT').then(() => holder.release()), 400);
    let runs = 0;
    await withTransaction(db, { lockTimeoutMs: 100, baseDelayMs: 50 }, async (tx) => {
      runs++;
      await tx.query('UPDATE stories SET title = $2 WHERE id = $1', [story, 'renamed']);
    });
    expect(runs).toBeGreaterThan(1);
    expect(await retriesFor('55P03')).toBeGreaterThan(before);
  });

  it('gives up after the last attempt with the original error', async () => {
    const story = await insertStory(db);
    const holder = await db.acquire();
    await holder.exec('BEGIN');
    await holder.query('SELECT 1 FROM stories WHERE id = $1 FOR UPDATE', [story]);
    try {
      await expect(
        withTransaction(db, { lockTimeoutMs: 20, maxAttempts: 3, baseDelayMs: 1 }, (tx) => tx.query('UPDATE stories SET title = $2 WHERE id = $1', [story, 'x'])),
      ).rejects.toMatchObject({ code: '55P03' });
    } finally {
      await holder.exec('ROLLBACK');
      holder.release();
    }
  });

  it('reports the first failing statement, not the follow-up "transaction is aborted"', async () => {
    const story = await insertStory(db);
    await expect(
      withTransaction(db, {}, async (tx) => {
        await tx.query(`UPDATE stories SET status = 'nonsense' WHERE id = $1`, [story]).catch(() => undefined);
        await tx.query('SELECT 1');
      }),
    ).rejects.toMatchObject({ code: '23514' });
  });

  it('rolls back everything when the callback throws', async () => {
    const story = await insertStory(db);
    await expect(
      withTransaction(db, {}, async (tx) => {
        await tx.query('UPDATE stories SET title = $2 WHERE id = $1', [story, 'changed']);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const { rows } = await db.query<{ title: string }>('SELECT title FROM stories WHERE id = $1', [story]);
    expect(rows[0]!.title).toBe('A test story');
  });

  it('applies the statement timeout', async () => {
    await expect(withTransaction(db, { statementTimeoutMs: 50 }, (tx) => tx.query('SELECT pg_sleep(1)'))).rejects.toMatchObject({ code: '57014' });
  });

  it('measures lock waits into the lock-wait histogram', async () => {
    const { lockStoryForWrite } = await import('../../src/story/story-repo.js');
    const story = await insertStory(db);
    const holder = await db.acquire();
    await holder.exec('BEGIN');
    await holder.query('SELECT 1 FROM stories WHERE id = $1 FOR UPDATE', [story]);
    setTimeout(() => void holder.exec('COMMIT').then(() => holder.release()), 200);
    const metric = metricsRegistry.getSingleMetric('livingworld_lock_wait_seconds')!;
    const sumBefore = (await metric.get()).values.find((v) => (v as { metricName?: string }).metricName?.endsWith('_sum') && v.labels['lock'] === 'story')?.value ?? 0;
    await withTransaction(db, {}, (tx) => lockStoryForWrite(tx, story));
    const sumAfter = (await metric.get()).values.find((v) => (v as { metricName?: string }).metricName?.endsWith('_sum') && v.labels['lock'] === 'story')!.value;
    expect(sumAfter - sumBefore).toBeGreaterThan(0.15);
  });
});
