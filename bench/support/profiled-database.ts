import type { Database, DbConnection, Queryable } from '../../src/db/index.js';

/**
 * Wraps a database so that statement time can be attributed: every statement's duration is
 * added to the category `classify` gives it. Only the bench sees the wrapper; the engine
 * uses it as it would the real database (the WeakMap caches key on the wrapper, which is fine).
 */
export interface ProfiledDatabase extends Database {
  /** Milliseconds per category since the last reset. */
  readonly totals: Map<string, number>;
  /** Statements (round trips) per category since the last reset; BEGIN and COMMIT count too. */
  readonly counts: Map<string, number>;
  reset(): void;
}

export type Classify = (sql: string, inTransaction: boolean) => string;

export function profileDatabase(inner: Database, classify: Classify): ProfiledDatabase {
  const totals = new Map<string, number>();
  const counts = new Map<string, number>();
  const timed = async <T>(sql: string, inTransaction: boolean, run: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await run();
    } finally {
      const category = classify(sql, inTransaction);
      totals.set(category, (totals.get(category) ?? 0) + performance.now() - started);
      counts.set(category, (counts.get(category) ?? 0) + 1);
    }
  };
  const wrapped: ProfiledDatabase = {
    get kind() {
      return inner.kind;
    },
    get description() {
      return inner.description;
    },
    get transactionDefaults() {
      return inner.transactionDefaults;
    },
    totals,
    counts,
    reset: () => {
      totals.clear();
      counts.clear();
    },
    query: ((sql: string, params?: readonly unknown[]) => timed(sql, false, () => inner.query(sql, params))) as Queryable['query'],
    async acquire(): Promise<DbConnection> {
      const connection = await inner.acquire();
      return {
        query: ((sql: string, params?: readonly unknown[]) => timed(sql, true, () => connection.query(sql, params))) as Queryable['query'],
        exec: (sql: string) => timed(sql, true, () => connection.exec(sql)),
        release: (error?: unknown) => connection.release(error),
      };
    },
    listen: (channel, onNotify) => inner.listen(channel, onNotify),
    poolStats: () => inner.poolStats(),
    close: () => inner.close(),
  };
  return wrapped;
}
