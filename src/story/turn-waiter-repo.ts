import type { Queryable } from '../db/index.js';

/**
 * Who waits for a generating turn, on any process. Each waiter renews its row while it
 * waits; a row not renewed for `expiryMs` belongs to a process that died and no longer counts.
 * Times are the database's, so processes with skewed clocks agree.
 */

/** Adds or renews a waiter (a renewal after the turn was re-armed puts the row back). */
export async function upsertTurnWaiter(db: Queryable, storyId: string, turnId: string, waiterId: string): Promise<void> {
  await db.query(
    `INSERT INTO turn_waiters (story_id, turn_id, waiter_id) VALUES ($1, $2, $3)
     ON CONFLICT (story_id, turn_id, waiter_id) DO UPDATE SET seen_at = clock_timestamp()`,
    [storyId, turnId, waiterId],
  );
}

export async function deleteTurnWaiter(db: Queryable, storyId: string, turnId: string, waiterId: string): Promise<void> {
  await db.query(`DELETE FROM turn_waiters WHERE story_id = $1 AND turn_id = $2 AND waiter_id = $3`, [storyId, turnId, waiterId]);
}

/** Waiters still renewing their rows. */
export async function countLiveTurnWaiters(db: Queryable, storyId: string, turnId: string, expiryMs: number): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM turn_waiters WHERE story_id = $1 AND turn_id = $2 AND seen_at > clock_timestamp() - $3 * interval '1 millisecond'`,
    [storyId, turnId, expiryMs],
  );
  return Number(rows[0]!.n);
}

/** A finished turn has nobody to wait for it. */
export async function deleteTurnWaiters(db: Queryable, storyId: string, turnId: string): Promise<void> {
  await db.query(`DELETE FROM turn_waiters WHERE story_id = $1 AND turn_id = $2`, [storyId, turnId]);
}
