import fs from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import type { Database, DbConnection, QueryResult, TransactionDefaults } from './database.js';
import { lockDataDir } from './data-dir-lock.js';
import { copyTemplateInto, findUsableTemplate } from './embedded-template.js';
import { createEmbeddedStatements, rowCountOf } from './embedded-statements.js';

/**
 * PGlite is a single connection. Callers take turns on it through a queue: a transaction holds
 * the connection until it releases it, so statements of concurrent callers never interleave.
 */
class ConnectionQueue {
  private tail: Promise<void> = Promise.resolve();
  waiting = 0;

  async acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const previous = this.tail;
    this.tail = previous.then(() => next);
    this.waiting++;
    await previous;
    this.waiting--;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      release();
    };
  }
}

export interface EmbeddedDatabaseOptions {
  /** A directory, or undefined for an in-memory database (tests). */
  dataDir: string | undefined;
  transactionDefaults: TransactionDefaults;
  /** Told when the data directory must be created the slow way (no usable template), so a terminal can say why it waits. */
  onSlowStart?: (message: string) => void;
  /** Where the migrated template lives; the build's by default. */
  templateDir?: string;
}

function isMissingOrEmpty(dir: string): boolean {
  try {
    return fs.readdirSync(dir).length === 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
}

/** A new data directory starts as a copy of the migrated template when the build made one. */
function prepareDataDir(dataDir: string, options: Pick<EmbeddedDatabaseOptions, 'onSlowStart' | 'templateDir'>): void {
  fs.mkdirSync(dataDir, { recursive: true });
  const pgdata = `${dataDir}/pgdata`;
  if (!isMissingOrEmpty(pgdata)) return;
  const template = findUsableTemplate(options.templateDir);
  if (template === undefined) {
    options.onSlowStart?.(`Creating the embedded database in ${dataDir} (a few seconds, once)…`);
    return;
  }
  fs.rmSync(pgdata, { recursive: true, force: true });
  copyTemplateInto(template, pgdata);
}

export async function openEmbeddedDatabase(options: EmbeddedDatabaseOptions): Promise<Database> {
  const unlock = options.dataDir === undefined ? () => {} : lockDataDir(options.dataDir);
  let pglite: PGlite;
  try {
    if (options.dataDir !== undefined) prepareDataDir(options.dataDir, options);
    // The one-argument form: PGlite ignores the options when the data directory argument is undefined.
    pglite = new PGlite({
      ...(options.dataDir === undefined ? {} : { dataDir: `${options.dataDir}/pgdata` }),
      extensions: { vector },
    });
    await pglite.waitReady;
  } catch (error) {
    unlock();
    throw error;
  }
  const queue = new ConnectionQueue();
  let inUse = false;

  const runStatement = createEmbeddedStatements(pglite);
  const run = async <R>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> => {
    if (params !== undefined) return runStatement<R>(sql, params);
    const result = await pglite.query<R>(sql);
    return { rows: result.rows, rowCount: rowCountOf(result) };
  };

  const database: Database = {
    kind: 'embedded',
    description: options.dataDir === undefined ? 'embedded PostgreSQL (in memory)' : `embedded PostgreSQL in ${options.dataDir}`,
    transactionDefaults: options.transactionDefaults,

    async query<R>(sql: string, params?: readonly unknown[]) {
      const release = await queue.acquire();
      try {
        return await run<R>(sql, params);
      } finally {
        release();
      }
    },

    async acquire(): Promise<DbConnection> {
      const release = await queue.acquire();
      inUse = true;
      return {
        query: run,
        async exec(sql: string) {
          await pglite.exec(sql);
        },
        release() {
          inUse = false;
          release();
        },
      };
    },

    async listen(channel, onNotify) {
      // LISTEN is a statement too: it waits its turn so it never lands inside someone's transaction.
      const release = await queue.acquire();
      let unsubscribe: () => Promise<void>;
      try {
        unsubscribe = await pglite.listen(channel, onNotify);
      } finally {
        release();
      }
      return async () => {
        const releaseAgain = await queue.acquire();
        try {
          await unsubscribe();
        } finally {
          releaseAgain();
        }
      };
    },

    poolStats() {
      return { total: 1, idle: inUse ? 0 : 1, waiting: queue.waiting };
    },

    async close() {
      try {
        await pglite.close();
      } finally {
        unlock();
      }
    },
  };
  return database;
}
