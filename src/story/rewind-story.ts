import { withTransaction } from '../db/index.js';
import { recordIdempotentAnswer, type IdempotencyClaim } from '../idempotency/index.js';
import { AppError } from '../errors.js';
import type { EngineDeps } from './engine-deps.js';
import { eventsChannel } from './engine-deps.js';
import { findScene, lockStoryForWrite, setStoryHead } from './story-repo.js';
import { findGeneratingTurn } from './turn-repo.js';
import { getSceneView, type SceneView } from './scene-view.js';

/**
 * Moves the head to another scene of the story's tree (undo: its parent). Nothing is
 * deleted. Refused while a turn is being written, so a turn's commit always finds the head
 * it started from.
 */
export async function rewindStory(
  deps: Pick<EngineDeps, 'db'>,
  storyId: string,
  target: { toSceneId: string } | { undo: true },
  expectedVersion?: number,
  idempotency?: IdempotencyClaim,
): Promise<{ scene: SceneView; version: number }> {
  return withTransaction(deps.db, {}, async (tx) => {
    const story = await lockStoryForWrite(tx, storyId);
    if (expectedVersion !== undefined && story.version !== expectedVersion) {
      throw new AppError('version_conflict', `The story is at version ${story.version}, not ${expectedVersion}.`, {
        details: { version: story.version },
      });
    }
    const inFlight = await findGeneratingTurn(tx, storyId);
    if (inFlight && !inFlight.leaseExpired) {
      throw new AppError('turn_conflict', 'A scene is being written for this story; wait for it before moving back.', {
        details: { storyId, headSceneId: story.headSceneId, version: story.version, head: null },
      });
    }
    let targetId: string;
    if ('undo' in target) {
      const head = story.headSceneId ? await findScene(tx, storyId, story.headSceneId) : undefined;
      if (!head?.parentSceneId) throw new AppError('validation', 'Nothing to undo: this is the opening scene.');
      targetId = head.parentSceneId;
    } else {
      const scene = await findScene(tx, storyId, target.toSceneId);
      if (!scene) throw new AppError('not_found', `No scene ${target.toSceneId} in this story.`, { details: { field: 'toSceneId' } });
      targetId = scene.id;
    }
    const newVersion = await setStoryHead(tx, storyId, targetId);
    await tx.query('SELECT pg_notify($1, $2)', [eventsChannel, JSON.stringify({ type: 'head', storyId, sceneId: targetId, version: newVersion })]);
    const answer = { scene: await getSceneView(tx, storyId, targetId), version: newVersion };
    await recordIdempotentAnswer(tx, idempotency, answer);
    return answer;
  });
}
