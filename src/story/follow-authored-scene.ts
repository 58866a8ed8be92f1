import type { Transaction } from '../db/index.js';
import { eventsChannel, type StoryEvent } from './engine-deps.js';
import { markChoiceSelected, setStoryHead } from './story-repo.js';
import { insertFinishedTurn } from './turn-repo.js';

/**
 * A choice whose next scene an author wrote (an imported Twine passage) needs no storyteller:
 * the turn moves the head to that child of the head, recorded as a finished turn that made no
 * model call, so a retry or a late duplicate is answered with the same scene. The claim calls
 * this with the story row locked and no turn in flight, so invariants 1–3 hold as for a
 * generated scene. A choice with an instruction is left to the storyteller, who can honour it.
 */
export async function followAuthoredScene(
  tx: Transaction,
  turn: { storyId: string; fromSceneId: string; choiceNumber: number; instruction: string | null; requestHash: string },
  /** The authored child of the choice, as readAdvanceClaimState found it. */
  authoredSceneId: string | undefined,
): Promise<{ turnId: string; sceneId: string } | undefined> {
  if (turn.instruction !== null || authoredSceneId === undefined) return undefined;
  const sceneId = authoredSceneId;
  const finished = await insertFinishedTurn(tx, { ...turn, kind: 'advance', sceneId });
  await markChoiceSelected(tx, turn.storyId, turn.fromSceneId, turn.choiceNumber);
  const version = await setStoryHead(tx, turn.storyId, sceneId);
  // NOTIFY is delivered at commit, and only if this transaction commits.
  const event: StoryEvent = { type: 'head', storyId: turn.storyId, sceneId, version };
  await tx.query('SELECT pg_notify($1, $2)', [eventsChannel, JSON.stringify(event)]);
  return { turnId: finished.id, sceneId };
}
