import { withTransaction } from '../db/index.js';
import type { Database, Transaction } from '../db/index.js';
import { AppError } from '../errors.js';
import { deleteStoryRow, lockStoryForWrite } from './story-repo.js';
import { findGeneratingTurn } from './turn-repo.js';

/**
 * Deletes a story and everything in it, in one transaction under the story's row lock.
 * A turn being written (its lease alive) refuses the delete with turn_in_progress: the
 * writer would otherwise lose its scene at commit. A turn whose lease has run out belongs
 * to nobody, so it does not block; should its writer come back, its commit finds no story
 * and fails with not_found, writing nothing.
 */
export async function deleteStory(db: Database, storyId: string): Promise<{ title: string }> {
  return withTransaction(db, {}, (tx) => deleteStoryIn(tx, storyId));
}

/** deleteStory inside a caller's transaction (one that also stores the request's answer). */
export async function deleteStoryIn(tx: Transaction, storyId: string): Promise<{ title: string }> {
  const story = await lockStoryForWrite(tx, storyId, 'delete');
  const generating = await findGeneratingTurn(tx, storyId);
  if (generating && !generating.leaseExpired) {
    throw new AppError('turn_in_progress', `A scene of "${story.title}" is being written; delete the story once it is done.`, {
      details: { storyId, turnId: generating.id },
    });
  }
  await deleteStoryRow(tx, storyId);
  return { title: story.title };
}
