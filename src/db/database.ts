/** The one database interface; the embedded (PGlite) and server (pg pool) backends both implement it. */
export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
}

/** One connection held exclusively, for transactions and session-level locks. */
export interface DbConnection extends Queryable {
  /** Runs a script of several statements (no parameters). */
  exec(sql: string): Promise<void>;
  /** Returns the connection; pass the error if the connection may be broken so it is discarded. */
  release(error?: unknown): void;
}

export interface TransactionDefaults {
  isolation: 'read committed' | 'serializable';
  statementTimeoutMs: number;
  lockTimeoutMs: number;
}

export interface Database extends Queryable {
  readonly kind: 'embedded' | 'server';
  /** Human-readable location, without credentials. */
  readonly description: string;
  readonly transactionDefaults: TransactionDefaults;
  acquire(): Promise<DbConnection>;
  /**
   * Subscribes to NOTIFY on a channel; resolves to an unsubscribe function. `onReconnect`
   * runs each time LISTEN is re-established after its connection was lost: notifications
   * sent meanwhile are gone, so the subscriber must catch up from the tables.
   */
  listen(channel: string, onNotify: (payload: string) => void, onReconnect?: () => void): Promise<() => Promise<void>>;
  /** Pool figures for metrics; the embedded backend reports its single connection. */
  poolStats(): { total: number; idle: number; waiting: number };
  close(): Promise<void>;
}
