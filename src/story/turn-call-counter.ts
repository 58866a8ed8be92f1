import { randomUUID } from 'node:crypto';
import { retryOnConnectionLoss, type Database } from '../db/index.js';
import type { Logger } from '../logger.js';
import { recordModelCalls, type ModelCallPurpose } from '../llm/model-call-counts.js';
import { recordTurnModelCalls } from './turn-repo.js';

/**
 * Counts a turn's model calls in the database as each one starts, so that a call spent by a
 * process killed mid-call is still accounted for on the turn. Every model call a turn makes
 * (first answer, corrective re-ask, a provider's own retries) goes through `start()`.
 * The turn row holds the absolute count, so resending a write whose reply was lost is harmless;
 * the story's calls by purpose are counted per generation the same way.
 */
export interface TurnCallCounter {
  /** Calls started so far; the turn's final write records this total. */
  readonly count: number;
  /** Call just before a model call is made. */
  start(purpose?: ModelCallPurpose): Promise<void>;
}

export function createTurnCallCounter(db: Database, storyId: string, turnId: string, log: Logger): TurnCallCounter {
  let count = 0;
  const byPurpose = new Map<ModelCallPurpose, number>();
  // One generation of the turn: a takeover by another process counts its own calls besides these.
  const sourceId = `turn:${turnId}:${randomUUID()}`;
  return {
    get count() {
      return count;
    },
    async start(purpose = 'scene') {
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
