import { withTransaction } from '../db/index.js';
import type { Database, Transaction } from '../db/index.js';
import { AppError } from '../errors.js';
import { lockStoryForWrite, setStoryStatus as writeStoryStatus } from './story-repo.js';
import { findGeneratingTurn } from './turn-repo.js';

/**
 * Archives a story (it can be read and exported, not played) or makes it playable again.
 * Archiving waits for no one: it refuses while a scene is being written (the turn's commit
 * also refuses an archived story, so no scene ever lands on one).
 */
export async function setStoryStatus(db: Database, storyId: string, status: 'active' | 'archived'): Promise<void> {
  await withTransaction(db, {}, (tx) => applyStoryStatus(tx, storyId, status));
}

/** setStoryStatus inside a caller's transaction (with other changes to the story, or a stored answer). */
export async function applyStoryStatus(tx: Transaction, storyId: string, status: 'active' | 'archived'): Promise<void> {
  const story = await lockStoryForWrite(tx, storyId);
  if (status === 'archived') {
    const inFlight = await findGeneratingTurn(tx, storyId);
    if (inFlight && !inFlight.leaseExpired) {
      throw new AppError('turn_conflict', `Turn ${inFlight.id} is writing a scene for this story; archive it once that scene is written.`, {
        details: { storyId, turnId: inFlight.id },
      });
    }
  }
  if (story.status !== status) await writeStoryStatus(tx, storyId, status);
}
