import { randomUUID } from 'node:crypto';
import { retryOnConnectionLoss, type Database } from '../db/index.js';
import type { Logger } from '../logger.js';
import { recordModelCalls, type ModelCallPurpose } from '../llm/model-call-counts.js';
import { cancelledError } from '../llm/with-retry.js';
import { recordTurnModelCalls, unrecordTurnModelCall } from './turn-repo.js';

/**
 * Counts a turn's model calls in the database as each one starts, so that a call spent by a
 * process killed mid-call is still accounted for on the turn. Every model call a turn makes
 * (first answer, corrective re-ask, a provider's own retries) goes through `start()`.
 * The turn row holds an absolute count — the calls it had when this process claimed it plus
 * the ones made since — so resending a write whose reply was lost is harmless, and a turn
 * claimed again after a failure or a takeover keeps the calls spent before. The story's calls
 * by purpose are counted per generation the same way.
 */
export interface TurnCallCounter {
  /** The turn's calls: those it had when claimed plus those started since; the final write records it. */
  readonly count: number;
  /**
   * Call just before a model call is made. With the call's signal: an aborted call is never
   * sent, so it is not counted (and a count written just as it was aborted is taken back).
   */
  start(purpose?: ModelCallPurpose, signal?: AbortSignal): Promise<void>;
}

export function createTurnCallCounter(db: Database, storyId: string, turnId: string, log: Logger, callsAtClaim = 0): TurnCallCounter {
  let count = callsAtClaim;
  const byPurpose = new Map<ModelCallPurpose, number>();
  // One generation of the turn: a takeover by another process counts its own calls besides these.
  const sourceId = `turn:${turnId}:${randomUUID()}`;
  return {
    get count() {
      return count;
    },
    async start(purpose = 'scene', signal) {
      if (signal?.aborted) throw cancelledError(signal.reason);
      count++;
      const total = count;
      const calls = (byPurpose.get(purpose) ?? 0) + 1;
      byPurpose.set(purpose, calls);
      try {
        await retryOnConnectionLoss(() => recordTurnModelCalls(db, storyId, turnId, total, { sourceId, purpose, calls }), { attempts: 3 });
      } catch (error) {
        // The call still goes ahead; the turn's final write records the total.
        log.warn({ err: error, storyId, turnId }, 'could not record a model call before making it');
      }
      if (signal?.aborted) {
        count--;
        byPurpose.set(purpose, calls - 1);
        await unrecordTurnModelCall(db, storyId, turnId, total, { sourceId, purpose, calls }).catch((error: unknown) =>
          log.warn({ err: error, storyId, turnId }, 'could not take back the count of a call never made'),
        );
        throw cancelledError(signal.reason);
      }
    },
  };
}

/** Counts the calls of work done apart from a turn (a job's claim, a talk) by purpose. */
export function createSourceCallCounter(db: Database, input: { storyId: string; sourceId: string; purpose: ModelCallPurpose }, log: Logger): { readonly count: number; start(): Promise<void> } {
  let count = 0;
  return {
    get count() {
      return count;
    },
    async start() {
      count++;
      const calls = count;
      try {
        await retryOnConnectionLoss(() => recordModelCalls(db, { ...input, calls }), { attempts: 3 });
      } catch (error) {
        log.warn({ err: error, storyId: input.storyId, sourceId: input.sourceId }, 'could not record a model call before making it');
      }
    },
  };
}
