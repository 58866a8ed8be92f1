import type { Queryable } from '../db/index.js';

/** How long a key is honoured (and then swept): a day covers any client's retries, including a laptop waking up. */
export const idempotencyKeyLifetimeMs = 24 * 60 * 60 * 1000;

export interface StoredAnswer {
  requestHash: string;
  answer: unknown;
}

/** The live (unexpired) answer stored under a key. */
export async function findIdempotentAnswer(db: Queryable, scope: string, key: string): Promise<StoredAnswer | undefined> {
  const { rows } = await db.query<{ request_hash: string; answer: { value: unknown } }>(
    `SELECT request_hash, answer FROM idempotency_keys
      WHERE scope = $1 AND idempotency_key = $2 AND created_at > now() - $3 * interval '1 millisecond'`,
    [scope, key, idempotencyKeyLifetimeMs],
  );
  return rows[0] ? { requestHash: rows[0].request_hash, answer: rows[0].answer.value } : undefined;
}

/**
 * Stores the answer in the write's own transaction; an expired row under the same key is
 * replaced. False when a live row exists (a concurrent twin committed first): the caller
 * must roll back and replay that one. The insert waits for a twin still in flight.
 */
export async function insertIdempotentAnswer(tx: Queryable, scope: string, key: string, requestHash: string, answer: unknown): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO idempotency_keys (scope, idempotency_key, request_hash, answer) VALUES ($1, $2, $3, $4)
     ON CONFLICT (scope, idempotency_key) DO UPDATE SET request_hash = EXCLUDED.request_hash, answer = EXCLUDED.answer, created_at = now()
       WHERE idempotency_keys.created_at <= now() - $5 * interval '1 millisecond'`,
    // Wrapped so that a null or a bare string answer is still a JSON object.
    [scope, key, requestHash, JSON.stringify({ value: answer ?? null }), idempotencyKeyLifetimeMs],
  );
  return rowCount > 0;
}

/** Deletes keys past their lifetime; returns how many. */
export async function deleteExpiredIdempotencyKeys(db: Queryable): Promise<number> {
  const { rowCount } = await db.query(`DELETE FROM idempotency_keys WHERE created_at <= now() - $1 * interval '1 millisecond'`, [idempotencyKeyLifetimeMs]);
  return rowCount;
}
