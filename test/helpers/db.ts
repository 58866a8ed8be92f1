import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import type { Database, TransactionDefaults } from '../../src/db/index.js';
import { migrate, openEmbeddedDatabase, openServerDatabase } from '../../src/db/index.js';

export const testTransactionDefaults: TransactionDefaults = {
  isolation: 'read committed',
  statementTimeoutMs: 30_000,
  lockTimeoutMs: 5_000,
};

export interface TestServerDatabase {
  db: Database;
  /** Connection URL of this test's own database. */
  url: string;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

function adminUrl(): string {
  return inject('pgAdminUrl');
}

export function databaseUrl(name: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client(adminUrl());
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** An empty (unmigrated) database of its own on the test server. */
export async function createEmptyServerDatabase(): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `lw_t_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  return { name, url: databaseUrl(name), drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** A migrated database of its own on the test server, cloned from the template. */
export async function createServerTestDatabase(options: { poolSize?: number; transactionDefaults?: Partial<TransactionDefaults> } = {}): Promise<TestServerDatabase> {
  const name = `lw_t_${randomBytes(6).toString('hex')}`;
  for (let attempt = 0; ; attempt++) {
    try {
      await adminQuery(`CREATE DATABASE ${name} TEMPLATE ${inject('pgTemplateDatabase')}`);
      break;
    } catch (error) {
      // 55006: the template is briefly in use by another clone; try again.
      if ((error as { code?: string }).code !== '55006' || attempt > 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
    }
  }
  const url = databaseUrl(name);
  const db = await openServerDatabase({
    url,
    poolSize: options.poolSize ?? 10,
    transactionDefaults: { ...testTransactionDefaults, ...options.transactionDefaults },
    applicationName: 'livingworld-test',
  });
  return {
    db,
    url,
    async drop() {
      await db.close().catch(() => {});
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** A migrated in-memory PGlite database. */
export async function createEmbeddedTestDatabase(): Promise<Database> {
  const db = await openEmbeddedDatabase({ dataDir: undefined, transactionDefaults: testTransactionDefaults });
  await migrate(db);
  return db;
}

export type BackendName = 'server' | 'embedded';

/** For suites that run against both backends: a database and its disposal. */
export async function createTestDatabase(backend: BackendName): Promise<{ db: Database; dispose: () => Promise<void> }> {
  if (backend === 'server') {
    const server = await createServerTestDatabase();
    return { db: server.db, dispose: server.drop };
  }
  const db = await createEmbeddedTestDatabase();
  return { db, dispose: () => db.close() };
}
