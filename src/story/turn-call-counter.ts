import { retryOnConnectionLoss, type Database } from '../db/index.js';
import type { Logger } from '../logger.js';
import { recordTurnModelCalls, unrecordTurnModelCall } from './turn-repo.js';
import { cancelledError } from '../llm/with-retry.js';

/**
 * Counts a turn's model calls in the database as each one starts, so that a call spent by a
 * process killed mid-call is still accounted for on the turn. Every model call a turn makes
 * (first answer, corrective re-ask, a provider's own retries) goes through `start()`.
 * The turn row holds the absolute count, so resending a write whose reply was lost is harmless.
 */
export interface TurnCallCounter {
  /** Calls started so far; the turn's final write records this total. */
  readonly count: number;
  /**
   * Call just before a model call is made. With the call's signal: an aborted call is never
   * sent, so it is not counted (and a count written just as it was aborted is taken back).
   */
  start(signal?: AbortSignal): Promise<void>;
}

export function createTurnCallCounter(db: Database, storyId: string, turnId: string, log: Logger): TurnCallCounter {
  let count = 0;
  return {
    get count() {
      return count;
    },
    async start(signal) {
      if (signal?.aborted) throw cancelledError(signal.reason);
      count++;
      const total = count;
      try {
        await retryOnConnectionLoss(() => recordTurnModelCalls(db, storyId, turnId, total), { attempts: 3 });
      } catch (error) {
        // The call still goes ahead; the turn's final write records the total.
        log.warn({ err: error, storyId, turnId }, 'could not record a model call before making it');
      }
      if (signal?.aborted) {
        count--;
        await unrecordTurnModelCall(db, storyId, turnId, total).catch((error: unknown) => log.warn({ err: error, storyId, turnId }, 'could not take back the count of a call never made'));
        throw cancelledError(signal.reason);
      }
    },
  };
}
