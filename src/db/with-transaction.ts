import type { Database, DbConnection, Queryable } from './database.js';
import { isConnectionError, isRetryable, sqlState, sqlStateOf } from './pg-errors.js';
import { lockWaitSeconds, transactionRetries, transactionSeconds } from '../metrics.js';
import { AppError } from '../errors.js';
import { getLogger } from '../logger.js';

export type Isolation = 'read committed' | 'serializable';

export interface TransactionOptions {
  isolation?: Isolation;
  statementTimeoutMs?: number;
  lockTimeoutMs?: number;
  /** Total attempts including the first. */
  maxAttempts?: number;
  /** Backoff before retry n is uniform in [0, min(maxDelayMs, baseDelayMs * 2^n)] ("full jitter"). */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * For a transaction that writes only the rows of a story it creates (a new story, an imported
 * archive or card). Nothing another transaction writes can make what it read stale: the ids are
 * its own, uniqueness is the indexes' job and a file's import hash is looked up under an
 * advisory lock, which READ COMMITTED sees past. Under SERIALIZABLE a long import is only ever
 * a pivot between busy turns that read and write the tables it fills, and failed after every retry.
 */
export const newStoryTransaction: TransactionOptions = { isolation: 'read committed' };

/** A transaction's view of its connection: queries only, no BEGIN/COMMIT of its own. */
export type Transaction = Queryable;

const defaultRetry = { maxAttempts: 10, baseDelayMs: 5, maxDelayMs: 1000 };

export function backoffDelayMs(attempt: number, baseDelayMs: number, maxDelayMs: number): number {
  return Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const commitRefusals = new WeakMap<Database, () => Error>();

/**
 * From now on every transaction on `db` is refused with this error, before BEGIN and, for one
 * already running, before its COMMIT: a stopping process writes nothing it may not live to
 * answer, and a write whose COMMIT was sent is still waited for and answered.
 */
export function refuseCommits(db: Database, error: () => Error): void {
  commitRefusals.set(db, error);
}

function checkCommitsAllowed(db: Database): void {
  const refusal = commitRefusals.get(db);
  if (refusal) throw refusal();
}

/**
 * The one way to run a transaction. The callback may run more than once (it is retried on
 * serialization failures, deadlocks and lock timeouts, and on a lost connection before
 * COMMIT was sent), so it must do nothing but database work: no model calls, HTTP calls or
 * events inside it.
 */
export async function withTransaction<T>(
  db: Database,
  options: TransactionOptions,
  fn: (tx: Transaction) => Promise<T>,
): Promise<T> {
  const defaults = db.transactionDefaults;
  const isolation = options.isolation ?? defaults.isolation;
  const statementTimeoutMs = options.statementTimeoutMs ?? defaults.statementTimeoutMs;
  const lockTimeoutMs = options.lockTimeoutMs ?? defaults.lockTimeoutMs;
  const maxAttempts = options.maxAttempts ?? defaultRetry.maxAttempts;
  const baseDelayMs = options.baseDelayMs ?? defaultRetry.baseDelayMs;
  const maxDelayMs = options.maxDelayMs ?? defaultRetry.maxDelayMs;

  for (let attempt = 1; ; attempt++) {
    const started = performance.now();
    let connection: DbConnection | undefined;
    let commitSent = false;
    let firstQueryError: unknown;
    try {
      checkCommitsAllowed(db);
      connection = await db.acquire();
      await connection.exec(
        `BEGIN ISOLATION LEVEL ${isolation === 'serializable' ? 'SERIALIZABLE' : 'READ COMMITTED'}; ` +
          `SET LOCAL statement_timeout = ${Math.trunc(statementTimeoutMs)}; SET LOCAL lock_timeout = ${Math.trunc(lockTimeoutMs)}`,
      );
      const conn = connection;
      const tx: Transaction = {
        async query(sql, params) {
          try {
            return await conn.query(sql, params);
          } catch (error) {
            firstQueryError ??= error;
            throw error;
          }
        },
      };
      const result = await fn(tx);
      checkCommitsAllowed(db);
      commitSent = true;
      await connection.exec('COMMIT');
      connection.release();
      transactionSeconds.observe({ outcome: 'commit' }, (performance.now() - started) / 1000);
      return result;
    } catch (caught) {
      // After one failed statement every later one fails with 25P02; the first is the real cause.
      const error = sqlStateOf(caught) === sqlState.inFailedTransaction && firstQueryError !== undefined ? firstQueryError : caught;
      if (connection) {
        const conn = connection;
        await conn.exec('ROLLBACK').then(
          () => conn.release(),
          (rollbackError: unknown) => conn.release(rollbackError ?? new Error('rollback failed')),
        );
      }
      transactionSeconds.observe({ outcome: 'rollback' }, (performance.now() - started) / 1000);
      const lostBeforeCommit = isConnectionError(error) && !commitSent;
      if ((isRetryable(error) || lostBeforeCommit) && attempt < maxAttempts) {
        const state = sqlStateOf(error) ?? 'connection';
        transactionRetries.inc({ sqlstate: state });
        getLogger().debug({ sqlstate: state, attempt }, 'retrying transaction');
        await sleep(backoffDelayMs(attempt, baseDelayMs, maxDelayMs));
        continue;
      }
      if (isConnectionError(error)) {
        throw new AppError(
          'database_unavailable',
          commitSent
            ? 'The database connection was lost while committing; the outcome is unknown. Retry with the same idempotency key.'
            : 'The database connection was lost. Check that PostgreSQL is running and retry.',
          { cause: error },
        );
      }
      throw error;
    }
  }
}

/** Runs a locking statement and records how long it waited for the lock. */
export async function measureLockWait<T>(lockName: string, acquire: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await acquire();
  } finally {
    lockWaitSeconds.observe({ lock: lockName }, (performance.now() - started) / 1000);
  }
}
