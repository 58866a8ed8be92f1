import fs from 'node:fs';
import path from 'node:path';
import type { Database } from './database.js';
import { AppError } from '../errors.js';
import { getLogger } from '../logger.js';
import { packagePath } from '../package-root.js';

export const migrationsDir = packagePath('migrations');

// A fixed key: every LivingWorld process migrating this database serialises on it.
const migrationLockKey = 7_418_230_001;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function readMigrations(dir: string = migrationsDir): Migration[] {
  return fs
    .readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => ({
      version: Number(file.slice(0, 4)),
      name: file.replace(/\.sql$/, ''),
      sql: fs.readFileSync(path.join(dir, file), 'utf8'),
    }));
}

export interface MigrationResult {
  applied: string[];
  version: number;
}

/**
 * Applies pending migrations, each in its own transaction, under a session advisory lock so
 * that processes starting together apply each file exactly once. Refuses a database that a
 * newer LivingWorld has migrated.
 */
export async function migrate(db: Database, migrations: Migration[] = readMigrations()): Promise<MigrationResult> {
  const connection = await db.acquire();
  let lockHeld = false;
  try {
    await connection.query('SELECT pg_advisory_lock($1)', [migrationLockKey]);
    lockHeld = true;
    await connection.exec(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version int PRIMARY KEY,
         name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await connection.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    const appliedVersions = new Set(rows.map((row) => row.version));
    const newestKnown = migrations.at(-1)?.version ?? 0;
    const newestApplied = rows.at(-1)?.version ?? 0;
    if (newestApplied > newestKnown) {
      throw new AppError(
        'database_unavailable',
        `The database schema is at version ${newestApplied}, newer than this LivingWorld knows (${newestKnown}). Upgrade LivingWorld.`,
      );
    }
    const applied: string[] = [];
    for (const migration of migrations) {
      if (appliedVersions.has(migration.version)) continue;
      await connection.exec('BEGIN');
      try {
        await connection.exec(migration.sql);
        await connection.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
        await connection.exec('COMMIT');
      } catch (error) {
        await connection.exec('ROLLBACK').catch(() => {});
        throw new AppError('database_unavailable', `Migration ${migration.name} failed: ${(error as Error).message}`, { cause: error });
      }
      applied.push(migration.name);
      getLogger().info({ migration: migration.name }, 'migration applied');
    }
    return { applied, version: Math.max(newestApplied, ...applied.map((name) => Number(name.slice(0, 4)))) };
  } finally {
    if (lockHeld) await connection.query('SELECT pg_advisory_unlock($1)', [migrationLockKey]).catch(() => {});
    connection.release();
  }
}

/** For readiness checks: is every known migration applied? */
export async function pendingMigrations(db: Database, migrations: Migration[] = readMigrations()): Promise<string[]> {
  const { rows } = await db
    .query<{ version: number }>('SELECT version FROM schema_migrations')
    .catch(() => ({ rows: [] as { version: number }[] }));
  const applied = new Set(rows.map((row) => row.version));
  return migrations.filter((migration) => !applied.has(migration.version)).map((migration) => migration.name);
}
