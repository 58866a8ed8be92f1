import { retryOnConnectionLoss, type Database } from '../db/index.js';
import type { Logger } from '../logger.js';
import { addTurnModelCalls } from './turn-repo.js';

/**
 * Counts a turn's model calls in the database as each one starts, so that a call spent by a
 * process killed mid-call is still accounted for on the turn. Every model call a turn makes
 * (first answer, corrective re-ask, a provider's own retries) goes through `start()`.
 */
export interface TurnCallCounter {
  /** Calls started so far. */
  readonly count: number;
  /** Calls started but not yet on the turn row (the database was unreachable): the turn's final write adds them. */
  readonly unrecorded: number;
  /** Call just before a model call is made. */
  start(): Promise<void>;
  /** After the final write that added `unrecorded`. */
  markRecorded(): void;
}

export function createTurnCallCounter(db: Database, storyId: string, turnId: string, log: Logger): TurnCallCounter {
  let count = 0;
  let recorded = 0;
  return {
    get count() {
      return count;
    },
    get unrecorded() {
      return count - recorded;
    },
    async start() {
      count++;
      const toRecord = count - recorded;
      try {
        await retryOnConnectionLoss(() => addTurnModelCalls(db, storyId, turnId, toRecord), { attempts: 3 });
        recorded += toRecord;
      } catch (error) {
        // The call still goes ahead; the turn's final write adds what is left unrecorded.
        log.warn({ err: error, storyId, turnId }, 'could not record a model call before making it');
      }
    },
    markRecorded() {
      recorded = count;
    },
  };
}
