import type { Config } from '../config.js';
import type { Database } from './database.js';
import { openEmbeddedDatabase } from './embedded-database.js';
import { AppError, isAppError } from '../errors.js';
import type { ServerDatabaseOptions } from './server-database.js';
import { describeDatabaseUrl } from './describe-database-url.js';

/** pg is loaded only for a server database: the embedded path starts faster without it. */
export async function openServerDatabase(options: ServerDatabaseOptions): Promise<Database> {
  const { openServerDatabase: open } = await import('./server-database.js');
  return open(options);
}

/** DATABASE_URL set → a pool on that server; unset → embedded PostgreSQL in the data directory. */
export async function openDatabase(config: Config, options: { applicationName?: string; onSlowStart?: (message: string) => void } = {}): Promise<Database> {
  const transactionDefaults = {
    isolation: config.isolation,
    statementTimeoutMs: config.statementTimeoutMs,
    lockTimeoutMs: config.lockTimeoutMs,
  };
  if (config.databaseUrl === undefined) {
    return openEmbeddedDatabase({ dataDir: config.dataDir, transactionDefaults, ...(options.onSlowStart ? { onSlowStart: options.onSlowStart } : {}) });
  }
  let url: URL;
  try {
    url = new URL(config.databaseUrl);
  } catch {
    throw new AppError('config', 'DATABASE_URL is not a valid URL; expected postgres://user:password@host:port/database.');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new AppError('config', `DATABASE_URL must start with postgres:// or postgresql:// (got ${url.protocol}//).`);
  }
  try {
    return await openServerDatabase({
      url: config.databaseUrl,
      poolSize: config.poolSize,
      transactionDefaults,
      ...(options.applicationName === undefined ? {} : { applicationName: options.applicationName }),
    });
  } catch (error) {
    if (isAppError(error)) throw error;
    const reason = (error as Error).message || (error as { code?: string }).code || 'unknown error';
    throw new AppError(
      'database_unavailable',
      `Cannot connect to DATABASE_URL (${describeDatabaseUrl(config.databaseUrl)}): ${reason}. Check that the server is running, and the host, port, user, password and database name.`,
      { cause: error },
    );
  }
}
