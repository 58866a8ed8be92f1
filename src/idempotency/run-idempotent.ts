import { createHash } from 'node:crypto';
import { retryOnConnectionLoss, withTransaction, type Database, type Transaction } from '../db/index.js';
import { AppError } from '../errors.js';
import { findIdempotentAnswer, insertIdempotentAnswer } from './idempotency-repo.js';

/**
 * One keyed write: who sent it (`scope`), the key, and a hash of everything that makes the
 * request what it is (route, ids, body). Built by the caller (HTTP: idempotencyClaimOf).
 */
export interface IdempotencyClaim {
  scope: string;
  key: string;
  requestHash: string;
}

export const maxIdempotencyKeyLength = 200;

/** A key from outside (header, flag): 1–200 visible ASCII characters, or absent. */
export function parseIdempotencyKey(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length < 1 || value.length > maxIdempotencyKeyLength || !/^[\x21-\x7e]+$/.test(value)) {
    throw new AppError('validation', `The idempotency key must be 1–${maxIdempotencyKeyLength} visible ASCII characters.`, {
      details: { field: 'idempotencyKey' },
    });
  }
  return value;
}

/** A stable hash of a request's parts (strings, buffers, JSON values). */
export function hashRequest(...parts: unknown[]): string {
  const hash = createHash('sha256');
  for (const part of parts) {
    hash.update(Buffer.isBuffer(part) ? part : JSON.stringify(part ?? null));
    hash.update('\u0000');
  }
  return hash.digest('hex').slice(0, 40);
}

/** Thrown inside the write's transaction when a twin holds the key: rolls the write back. */
class KeyTakenError extends Error {}

/**
 * Inside the write's own transaction, as its last statement: stores the answer under the
 * key. The answer goes through JSON (dates become ISO strings), so it must be what the
 * caller sends, not what it computes with. Without a claim it does nothing.
 */
export async function recordIdempotentAnswer(tx: Transaction, claim: IdempotencyClaim | undefined, answer: unknown): Promise<void> {
  if (!claim) return;
  if (!(await insertIdempotentAnswer(tx, claim.scope, claim.key, claim.requestHash, answer))) throw new KeyTakenError();
}

async function storedAnswer<T>(db: Database, claim: IdempotencyClaim): Promise<{ answer: T } | undefined> {
  const stored = await retryOnConnectionLoss(() => findIdempotentAnswer(db, claim.scope, claim.key));
  if (!stored) return undefined;
  if (stored.requestHash !== claim.requestHash) {
    throw new AppError('idempotency_mismatch', 'This idempotency key was already used for a different request; send a new key.', {
      details: { field: 'Idempotency-Key' },
    });
  }
  return { answer: stored.answer as T };
}

/**
 * The one idempotency mechanism for writes. A repeat of a keyed request gets the first
 * answer; a different request under the same key gets 422 idempotency_mismatch. Because the
 * answer is stored by `recordIdempotentAnswer` in the write's own transaction, a lost COMMIT
 * reply leaves exactly one of two states, and this looks which one it was: after any failure
 * of `write` (a lost reply, a twin that committed first) a stored answer is replayed.
 *
 * Adopting it for a new write route is one line each side:
 *   route:    return runIdempotent(db, idempotencyClaimOf(request), () => useCase(..., claim));
 *   use case: await recordIdempotentAnswer(tx, claim, answer);  // last statement of its transaction
 * and for a write that is one transaction and nothing else, `idempotentTransaction` does both.
 * Replayed answers have been through JSON: callers send them, they do not compute with them.
 */
export async function runIdempotent<T>(db: Database, claim: IdempotencyClaim | undefined, write: () => Promise<T>): Promise<T> {
  if (!claim) return write();
  const earlier = await storedAnswer<T>(db, claim);
  if (earlier) return earlier.answer;
  try {
    return await write();
  } catch (error) {
    const landed = await storedAnswer<T>(db, claim).catch(() => undefined);
    if (landed) return landed.answer;
    throw error instanceof KeyTakenError ? new AppError('database_busy', 'The same request is being answered; retry with the same key.') : error;
  }
}

/** A write that is one transaction: runs it, stores its answer in it, replays it on repeat. */
export async function idempotentTransaction<T>(db: Database, claim: IdempotencyClaim | undefined, fn: (tx: Transaction) => Promise<T>): Promise<T> {
  return runIdempotent(db, claim, () =>
    withTransaction(db, {}, async (tx) => {
      const answer = await fn(tx);
      await recordIdempotentAnswer(tx, claim, answer);
      return answer;
    }),
  );
}
