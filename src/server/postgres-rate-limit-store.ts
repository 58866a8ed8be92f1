import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { Queryable } from '../db/index.js';

/** Counts one request in the key's current window (opening a new window once it has ended). */
async function countRequest(db: Queryable, key: string, timeWindowMs: number): Promise<{ current: number; ttl: number }> {
  const { rows } = await db.query<{ count: number; ttl: number }>(
    `INSERT INTO rate_limit_counters AS r (key, count, window_ends_at)
     VALUES ($1, 1, clock_timestamp() + $2 * interval '1 millisecond')
     ON CONFLICT (key) DO UPDATE SET
       count = CASE WHEN r.window_ends_at <= clock_timestamp() THEN 1 ELSE r.count + 1 END,
       window_ends_at = CASE WHEN r.window_ends_at <= clock_timestamp() THEN EXCLUDED.window_ends_at ELSE r.window_ends_at END
     RETURNING count, GREATEST(0, ceil(EXTRACT(EPOCH FROM (window_ends_at - clock_timestamp())) * 1000))::int AS ttl`,
    [key, timeWindowMs],
  );
  return { current: rows[0]!.count, ttl: rows[0]!.ttl };
}

/**
 * A @fastify/rate-limit store kept in PostgreSQL, so that every server process on one
 * database shares each user's budget.
 */
export function postgresRateLimitStore(db: Queryable): FastifyRateLimitStoreCtor {
  class PostgresRateLimitStore implements FastifyRateLimitStore {
    private readonly prefix: string;

    // The plugin constructs the root store with its options; route stores get a key prefix.
    constructor(prefix?: unknown) {
      this.prefix = typeof prefix === 'string' ? prefix : '';
    }

    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      countRequest(db, `${this.prefix}${key}`.slice(0, 300), timeWindow).then(
        (result) => callback(null, result),
        (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
      );
    }

    child(routeOptions: { groupId?: string; path: string }): FastifyRateLimitStore {
      return new PostgresRateLimitStore(`${routeOptions.groupId ?? routeOptions.path}:`);
    }
  }
  return PostgresRateLimitStore as unknown as FastifyRateLimitStoreCtor;
}
