import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { migrate, openEmbeddedDatabase, readMigrations } from '../../src/db/index.js';
import { createEmptyServerDatabase, testTransactionDefaults } from '../helpers/db.js';
import { runCli } from '../helpers/cli.js';

async function appliedMigrations(url: string): Promise<{ version: number; n: number }[]> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    const { rows } = await client.query('SELECT version, count(*)::int AS n FROM schema_migrations GROUP BY version ORDER BY version');
    return rows;
  } finally {
    await client.end();
  }
}

describe('migrations', () => {
  it('`livingworld migrate` twice applies every migration once, then reports the schema current', async () => {
    const empty = await createEmptyServerDatabase();
    try {
      const env = { DATABASE_URL: empty.url };
      const first = await runCli(['migrate', '--json'], { env });
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      const known = readMigrations().map((m) => m.name);
      expect(JSON.parse(first.stdout).applied).toEqual(known);
      const second = await runCli(['migrate', '--json'], { env });
      expect(second.code).toBe(0);
      expect(JSON.parse(second.stdout).applied).toEqual([]);
      expect(await appliedMigrations(empty.url)).toEqual(readMigrations().map((m) => ({ version: m.version, n: 1 })));
    } finally {
      await empty.drop();
    }
  });

  it('4 processes migrating one empty database at the same moment apply the schema exactly once and all exit 0', async () => {
    const empty = await createEmptyServerDatabase();
    try {
      const results = await Promise.all(Array.from({ length: 4 }, () => runCli(['migrate', '--json'], { env: { DATABASE_URL: empty.url } })));
      for (const result of results) expect(result.code, result.stderr).toBe(0);
      const appliedCounts = results.map((r) => (JSON.parse(r.stdout) as { applied: string[] }).applied.length);
      expect(appliedCounts.reduce((a, b) => a + b, 0)).toBe(readMigrations().length);
      expect(await appliedMigrations(empty.url)).toEqual(readMigrations().map((m) => ({ version: m.version, n: 1 })));
    } finally {
      await empty.drop();
    }
  });

  it('refuses a database migrated by a newer LivingWorld', async () => {
    const db = await openEmbeddedDatabase({ dataDir: undefined, transactionDefaults: testTransactionDefaults });
    try {
      await migrate(db);
      await db.query(`INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future')`);
      await expect(migrate(db)).rejects.toThrow(/newer than this LivingWorld/);
    } finally {
      await db.close();
    }
  });

  it('uses pgvector columns on the embedded database and portable arrays on a server without the extension', async () => {
    const db = await openEmbeddedDatabase({ dataDir: undefined, transactionDefaults: testTransactionDefaults });
    try {
      await migrate(db);
      const { rows } = await db.query<{ value: string }>(`SELECT value #>> '{}' AS value FROM settings WHERE key = 'vector_backend'`);
      expect(rows[0]!.value).toBe('pgvector');
    } finally {
      await db.close();
    }
    const empty = await createEmptyServerDatabase();
    try {
      await runCli(['migrate'], { env: { DATABASE_URL: empty.url } });
      const client = new pg.Client(empty.url);
      await client.connect();
      const { rows } = await client.query(`SELECT data_type FROM information_schema.columns WHERE table_name = 'character_memories' AND column_name = 'embedding'`);
      await client.end();
      expect(rows[0].data_type).toBe('ARRAY');
    } finally {
      await empty.drop();
    }
  });
});

describe('the embedded data directory', () => {
  it('refuses a second process, naming the process that holds it and pointing to DATABASE_URL', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-lock-'));
    const db = await openEmbeddedDatabase({ dataDir, transactionDefaults: testTransactionDefaults });
    try {
      const second = await runCli(['list'], { env: { LIVINGWORLD_DATA_DIR: dataDir, DATABASE_URL: '' } });
      expect(second.code).not.toBe(0);
      expect(second.stderr).toContain(`process ${process.pid}`);
      expect(second.stderr).toContain('DATABASE_URL');
      expect(second.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      await db.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('takes over a lock left by a process that no longer exists', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-lock-'));
    fs.writeFileSync(path.join(dataDir, 'livingworld.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, hostname: os.hostname(), startedAt: 'long ago' }));
    try {
      const db = await openEmbeddedDatabase({ dataDir, transactionDefaults: testTransactionDefaults });
      await db.close();
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('a bad DATABASE_URL', () => {
  it.each([
    ['unreachable', 'postgres://postgres@127.0.0.1:1/nothing'],
    ['not a URL', 'this is not a url'],
    ['wrong scheme', 'mysql://root@127.0.0.1/test'],
  ])('%s: one line naming the variable, non-zero exit, no stack trace', async (_label, url) => {
    const result = await runCli(['list'], { env: { DATABASE_URL: url } });
    expect(result.code).not.toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('DATABASE_URL');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('shows the stack at LOG_LEVEL=debug', async () => {
    const result = await runCli(['list'], { env: { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nothing', LOG_LEVEL: 'debug' } });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/\n\s+at /);
  });
});
