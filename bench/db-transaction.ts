/**
 * Foundation figures: cold open + migrate of the embedded database, and the overhead of the
 * transaction helper over the same "lock the story row, insert a row, commit" written with
 * bare pg, measured in the same run (1,000 runs each, interleaved in blocks).
 *
 *   npx tsx bench/db-transaction.ts
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { migrate, openEmbeddedDatabase, openServerDatabase, withTransaction } from '../src/db/index.js';
import { createBenchDatabase, summarise, timeEach, writeResult } from './lib.js';

const runs = Number(process.env['BENCH_RUNS'] ?? 1000);
const transactionDefaults = { isolation: 'read committed' as const, statementTimeoutMs: 30_000, lockTimeoutMs: 5_000 };

async function embeddedColdOpen(): Promise<{ coldOpenAndMigrateMs: number; reopenMs: number }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-bench-'));
  try {
    let start = performance.now();
    const db = await openEmbeddedDatabase({ dataDir, transactionDefaults });
    await migrate(db);
    const coldOpenAndMigrateMs = performance.now() - start;
    await db.close();
    start = performance.now();
    const again = await openEmbeddedDatabase({ dataDir, transactionDefaults });
    await migrate(again);
    const reopenMs = performance.now() - start;
    await again.close();
    return { coldOpenAndMigrateMs: Math.round(coldOpenAndMigrateMs), reopenMs: Math.round(reopenMs) };
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const cold = await embeddedColdOpen();
  const bench = await createBenchDatabase();
  try {
    const db = await openServerDatabase({ url: bench.url, poolSize: 2, transactionDefaults });
    await migrate(db);
    const { rows } = await db.query<{ id: string }>(`INSERT INTO stories (title, setting) VALUES ('bench', 'bench') RETURNING id`);
    const storyId = rows[0]!.id;
    const bare = new pg.Pool({ connectionString: bench.url, max: 1 });

    const viaHelper = () =>
      withTransaction(db, {}, async (tx) => {
        await tx.query('SELECT id FROM stories WHERE id = $1 FOR UPDATE', [storyId]);
        await tx.query(`INSERT INTO settings (key, value) VALUES (gen_random_uuid()::text, '1')`);
      });
    const viaBarePg = async () => {
      const client = await bare.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT id FROM stories WHERE id = $1 FOR UPDATE', [storyId]);
        await client.query(`INSERT INTO settings (key, value) VALUES (gen_random_uuid()::text, '1')`);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    };
    await timeEach(100, viaHelper);
    await timeEach(100, viaBarePg);
    // Interleave blocks so drift on a noisy machine hits both sides alike.
    const helperSamples: number[] = [];
    const bareSamples: number[] = [];
    for (let block = 0; block < 10; block++) {
      helperSamples.push(...(await timeEach(runs / 10, viaHelper)));
      bareSamples.push(...(await timeEach(runs / 10, viaBarePg)));
    }
    const helper = summarise(helperSamples);
    const barePg = summarise(bareSamples);
    const result = {
      embedded: cold,
      lockInsertCommitMs: { helper, barePg, ratioP50: Math.round((helper.p50 / barePg.p50) * 100) / 100, ratioP95: Math.round((helper.p95 / barePg.p95) * 100) / 100 },
      notes:
        'The helper sends BEGIN with SET LOCAL statement_timeout and lock_timeout in one round trip, and records metrics; bare pg sends BEGIN alone.',
    };
    writeResult('db-transaction', result);
    console.log(JSON.stringify(result, null, 2));
    await bare.end();
    await db.close();
  } finally {
    await bench.drop();
  }
}

await main();
