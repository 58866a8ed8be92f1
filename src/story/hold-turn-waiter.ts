import { withTransaction } from '../db/index.js';
import type { EngineDeps } from './engine-deps.js';
import { eventsChannel } from './engine-deps.js';
import { lockStoryForWrite } from './story-repo.js';
import { markTurnFailed } from './turn-repo.js';
import { countLiveTurnWaiters, deleteTurnWaiter, upsertTurnWaiter } from './turn-waiter-repo.js';

// A waiter renews its row this often; a row this old belongs to a process that died.
export const waiterRenewMs = 2_000;
export const waiterExpiryMs = 10_000;

/**
 * A request waiting for a turn (the one generating it or one that joined it), on record in
 * the database so that waiters on every process count. The row is written in the claim's
 * transaction; this keeps it fresh until the request stops waiting.
 */
export interface TurnWaiter {
  /** The request is answered (or the turn is over): the row goes, nothing is cancelled. */
  done(): Promise<void>;
  /** The turn's commit removed every waiter row of the turn (markTurnSucceededAtHead): renewing stops. */
  committed(): void;
  /**
   * The request's client went away: the row goes and, if no live waiter is left on any
   * process, the turn is cancelled in the same transaction. True when it was cancelled.
   */
  leave(): Promise<boolean>;
}

export function holdTurnWaiter(deps: EngineDeps, storyId: string, turnId: string, waiterId: string): TurnWaiter {
  let stopped = false;
  const timer = setInterval(() => {
    if (stopped) return;
    upsertTurnWaiter(deps.db, storyId, turnId, waiterId).catch((error: unknown) => deps.log.warn({ err: error, storyId, turnId }, 'could not renew a turn waiter'));
  }, waiterRenewMs);
  timer.unref();
  const stop = () => {
    stopped = true;
    clearInterval(timer);
  };
  return {
    async done() {
      if (stopped) return;
      stop();
      await deleteTurnWaiter(deps.db, storyId, turnId, waiterId).catch(() => {});
    },
    committed: stop,
    async leave() {
      stop();
      return leaveTurn(deps, storyId, turnId, waiterId);
    },
  };
}

/**
 * Removes a waiter and cancels the turn if it was the last live one. The story row lock
 * orders this against claims, which add their waiter under the same lock: a request that
 * joins either is counted here or finds the turn already cancelled and claims afresh.
 */
export async function leaveTurn(deps: EngineDeps, storyId: string, turnId: string, waiterId: string): Promise<boolean> {
  return withTransaction(deps.db, {}, async (tx) => {
    await lockStoryForWrite(tx, storyId);
    await deleteTurnWaiter(tx, storyId, turnId, waiterId);
    if ((await countLiveTurnWaiters(tx, storyId, turnId, waiterExpiryMs)) > 0) return false;
    const cancelled = await markTurnFailed(tx, storyId, turnId, {
      leaseOwner: null,
      errorCode: 'cancelled',
      errorMessage: 'Every client waiting for this scene went away.',
      modelCalls: 0,
    });
    // pg_notify is transactional: sent only if this commits, once however often it is retried.
    if (cancelled) await tx.query('SELECT pg_notify($1, $2)', [eventsChannel, JSON.stringify({ type: 'turn', storyId, turnId, status: 'failed' })]);
    return cancelled;
  });
}
