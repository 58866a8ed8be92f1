import type { Database, TransactionDefaults } from '../../src/db/index.js';
import { migrate, openEmbeddedDatabase, openServerDatabase } from '../../src/db/index.js';
import { createBenchDatabase } from '../lib.js';
import { sleep } from './bench-options.js';

export const benchTransactionDefaults: TransactionDefaults = {
  isolation: 'read committed',
  statementTimeoutMs: 30_000,
  lockTimeoutMs: 5_000,
};

export interface BenchDatabase {
  db: Database;
  /** Connection URL (server only). */
  url?: string;
  /** Closes the database and, on the server, drops it. */
  dispose(): Promise<void>;
}

/** A fresh migrated database of its own on the local PostgreSQL server (no pgvector: exact search). */
export async function openBenchServerDatabase(options: { poolSize?: number } = {}): Promise<BenchDatabase & { url: string }> {
  const bench = await createBenchDatabase();
  const db = await openServerDatabase({
    url: bench.url,
    poolSize: options.poolSize ?? 10,
    transactionDefaults: benchTransactionDefaults,
    applicationName: 'livingworld-bench',
  });
  await migrate(db);
  return {
    db,
    url: bench.url,
    async dispose() {
      await db.close().catch(() => {});
      // pool.end() resolves while its clients are still saying goodbye; DROP … WITH (FORCE)
      // would cut them off and the pool would log a lost connection.
      await sleep(200);
      await bench.drop();
    },
  };
}

/** A migrated in-memory PGlite database (pgvector with HNSW). */
export async function openBenchEmbeddedDatabase(): Promise<BenchDatabase> {
  const db = await openEmbeddedDatabase({ dataDir: undefined, transactionDefaults: benchTransactionDefaults });
  await migrate(db);
  return { db, dispose: () => db.close() };
}

/** Runs `measure` on a fresh embedded database, then on a fresh server one; each is disposed after. */
export async function measureOnBothBackends<T>(measure: (name: 'embedded' | 'server', backend: BenchDatabase) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (const [name, open] of [
    ['embedded', openBenchEmbeddedDatabase],
    ['server', () => openBenchServerDatabase({ poolSize: 4 })],
  ] as const) {
    const backend = await open();
    try {
      results.push(await measure(name, backend));
    } finally {
      await backend.dispose();
    }
  }
  return results;
}
