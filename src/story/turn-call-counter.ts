import { retryOnConnectionLoss, type Database } from '../db/index.js';
import type { Logger } from '../logger.js';
import { recordTurnModelCalls } from './turn-repo.js';

/**
 * Counts a turn's model calls in the database as each one starts, so that a call spent by a
 * process killed mid-call is still accounted for on the turn. Every model call a turn makes
 * (first answer, corrective re-ask, a provider's own retries) goes through `start()`.
 * The turn row holds the absolute count, so resending a write whose reply was lost is harmless.
 */
export interface TurnCallCounter {
  /** Calls started so far; the turn's final write records this total. */
  readonly count: number;
  /** Call just before a model call is made. */
  start(): Promise<void>;
}

export function createTurnCallCounter(db: Database, storyId: string, turnId: string, log: Logger): TurnCallCounter {
  let count = 0;
  return {
    get count() {
      return count;
    },
    async start() {
      count++;
      const total = count;
      try {
        await retryOnConnectionLoss(() => recordTurnModelCalls(db, storyId, turnId, total), { attempts: 3 });
      } catch (error) {
        // The call still goes ahead; the turn's final write records the total.
        log.warn({ err: error, storyId, turnId }, 'could not record a model call before making it');
      }
    },
  };
}
