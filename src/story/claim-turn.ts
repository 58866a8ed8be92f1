import type { Transaction } from '../db/index.js';
import { AppError } from '../errors.js';
import { countSiblings, getScene, lockAndTouchStory, type StoryRow } from './story-repo.js';
import {
  claimTurn,
  findGeneratingTurn,
  findSucceededTwin,
  findTurnByIdempotencyKey,
  insertTurn,
  markTurnFailed,
  readAdvanceClaimState,
  recordIdempotencyKey,
  type AdvanceClaimState,
  type TurnRow,
} from './turn-repo.js';
import { AUTHORED_SCENE_KEY } from './authored-scene-key.js';
import { upsertTurnWaiter } from './turn-waiter-repo.js';
import { turnRequestHash } from './request-hash.js';
import { followAuthoredScene } from './follow-authored-scene.js';
import type { TurnInput } from './validate-turn-input.js';

/** Everything the generation step needs, fixed when the turn is claimed. */
export interface GenerationPlan {
  story: StoryRow;
  turn: TurnRow;
  /** The scene the new one hangs under (null for an opening scene). */
  parentSceneId: string | null;
  parentSceneNumber: number | null;
  /** The head the commit expects to find: the new scene's parent, or the scene a regeneration replaces. */
  expectedHeadSceneId: string | null;
  choiceNumber: number | null;
  chosenAction: string | null;
  instruction: string | null;
  siblingIndex: number;
}

/** Who claims, for how long, and the claim's own id, chosen before it is sent. */
export interface ClaimLease {
  owner: string;
  leaseMs: number;
  claimId: string;
  /** The request that will wait for the turn this claim answers (recorded by the claim, a new turn in its own INSERT). */
  waiterId?: string;
}

export type ClaimDecision =
  | { action: 'generate'; plan: GenerationPlan; how: 'new' | 'takeover' | 'retry' }
  | { action: 'join'; turn: TurnRow }
  /** `authored`: this request moved the head to a scene an author wrote, without a model call. */
  | { action: 'replay'; turnId: string; sceneId: string; authored?: true }
  | { action: 'conflict'; reason: string; inFlightTurnId: string | null };

function sameRequest(turn: TurnRow, input: TurnInput): boolean {
  return (
    // A regeneration of a story with no scene yet became its opening turn.
    (turn.kind === input.kind || (turn.kind === 'open' && input.kind === 'regenerate')) &&
    turn.choiceNumber === input.choiceNumber &&
    turn.instruction === input.instruction &&
    (input.fromSceneId === null || turn.fromSceneId === input.fromSceneId || input.kind === 'open')
  );
}

/** Works out the new scene's place in the tree from the turn's request (`advance`: the claim's read, when it made it). */
async function planFor(tx: Transaction, story: StoryRow, turn: TurnRow, advance?: AdvanceClaimState): Promise<GenerationPlan> {
  if (turn.kind === 'open') {
    return {
      story,
      turn,
      parentSceneId: null,
      parentSceneNumber: null,
      expectedHeadSceneId: null,
      choiceNumber: null,
      chosenAction: null,
      instruction: turn.instruction,
      siblingIndex: await countSiblings(tx, story.id, null),
    };
  }
  if (turn.kind === 'advance') {
    const { from } = advance ?? (await readAdvanceClaimState(tx, story.id, turn.fromSceneId!, turn.choiceNumber, AUTHORED_SCENE_KEY));
    if (!from) throw new AppError('not_found', `No scene ${turn.fromSceneId} in story ${story.id}.`, { details: { storyId: story.id, sceneId: turn.fromSceneId } });
    const choice = from.choices.find((c) => c.number === turn.choiceNumber);
    if (!choice) {
      throw new AppError('validation', `Choice ${turn.choiceNumber} does not exist; this scene offers choices 1–${from.choices.length}.`, {
        details: { field: 'choice', choices: from.choices.length },
      });
    }
    return {
      story,
      turn,
      parentSceneId: turn.fromSceneId,
      parentSceneNumber: from.sceneNumber,
      expectedHeadSceneId: turn.fromSceneId,
      choiceNumber: choice.number,
      chosenAction: choice.content,
      instruction: turn.instruction,
      siblingIndex: from.children,
    };
  }
  // Regenerate: a new sibling of the replaced scene, answering the same choice and instruction.
  const from = await getScene(tx, story.id, turn.fromSceneId!);
  const parent = from.parentSceneId === null ? undefined : await getScene(tx, story.id, from.parentSceneId);
  return {
    story,
    turn,
    parentSceneId: parent?.id ?? null,
    parentSceneNumber: parent?.sceneNumber ?? null,
    expectedHeadSceneId: from.id,
    choiceNumber: from.choiceNumber,
    chosenAction: parent?.choices.find((c) => c.number === from.choiceNumber)?.content ?? null,
    // A regeneration may bring a new instruction ("regenerate, but make it rain"); else it keeps the old one.
    instruction: turn.instruction ?? from.instruction,
    siblingIndex: await countSiblings(tx, story.id, parent?.id ?? null),
  };
}

/** A claimed turn can only run if the head is still where the turn starts from. */
function startsFromHead(story: StoryRow, turn: TurnRow): boolean {
  return turn.kind === 'open' ? story.headSceneId === null : story.headSceneId === turn.fromSceneId;
}

/**
 * Step 1 of the turn protocol, inside one short transaction holding the story row lock:
 * replay, join, refuse, take over, or insert a new generating turn with a lease. A keyed
 * request's key is recorded against whichever turn answers it, so a retry with that key
 * always gets that turn's scene. The lease's waiter is recorded against the turn it will
 * wait for, under the same lock, so that no waiter is missed by a leave deciding to cancel.
 */
export async function decideClaim(
  tx: Transaction,
  storyId: string,
  input: TurnInput,
  lease: ClaimLease,
): Promise<ClaimDecision> {
  const decision = await decideLocked(tx, storyId, input, lease);
  if (lease.waiterId !== undefined) {
    // A new turn's INSERT has recorded its waiter already.
    const waitedFor = decision.action === 'generate' && decision.how !== 'new' ? decision.plan.turn.id : decision.action === 'join' ? decision.turn.id : null;
    if (waitedFor) await upsertTurnWaiter(tx, storyId, waitedFor, lease.waiterId);
  }
  return decision;
}

async function decideLocked(tx: Transaction, storyId: string, input: TurnInput, lease: ClaimLease): Promise<ClaimDecision> {
  // Touching the row as it is locked makes a SERIALIZABLE claim that waited for this lock fail
  // with 40001 (and be retried on a fresh snapshot) instead of deciding on a snapshot that cannot
  // see the turn this claim inserts. Under READ COMMITTED it is a cheap no-op.
  const story = await lockAndTouchStory(tx, storyId);
  if (story.status === 'archived') {
    throw new AppError('story_archived', `Story ${storyId} is archived; unarchive it to continue playing.`, { details: { storyId } });
  }
  if (input.idempotencyKey !== null) {
    const existing = await findTurnByIdempotencyKey(tx, storyId, input.idempotencyKey);
    if (existing) return resumeKeyedTurn(tx, story, existing, input, lease);
  }
  const decision = await decideFresh(tx, story, input, lease);
  if (input.idempotencyKey !== null) {
    const answeringTurnId =
      decision.action === 'generate' ? decision.plan.turn.id : decision.action === 'join' ? decision.turn.id : decision.action === 'replay' ? decision.turnId : null;
    if (answeringTurnId !== null) await recordIdempotencyKey(tx, storyId, input.idempotencyKey, answeringTurnId);
  }
  return decision;
}

/** A key seen before: its turn's scene, the turn itself if still running, or a retry of it. */
async function resumeKeyedTurn(
  tx: Transaction,
  story: StoryRow,
  existing: TurnRow,
  input: TurnInput,
  lease: ClaimLease,
): Promise<ClaimDecision> {
  const storyId = story.id;
  if (!sameRequest(existing, input)) {
    throw new AppError('idempotency_mismatch', 'This idempotency key was already used for a different request.', {
      details: { turnId: existing.id },
    });
  }
  if (existing.status === 'succeeded') return { action: 'replay', turnId: existing.id, sceneId: existing.sceneId! };
  if (existing.status === 'generating' && !existing.leaseExpired) return { action: 'join', turn: existing };
  const other = existing.status === 'failed' ? await findGeneratingTurn(tx, storyId) : undefined;
  if (other && !other.leaseExpired) {
    return other.requestHash === existing.requestHash
      ? { action: 'join', turn: other }
      : { action: 'conflict', reason: 'another turn is in progress', inFlightTurnId: other.id };
  }
  if (other) await markTurnFailed(tx, storyId, other.id, { leaseOwner: null, errorCode: 'lease_expired', errorMessage: 'Lease expired; taken over.', modelCalls: 0 });
  if (!startsFromHead(story, existing)) {
    if (existing.status === 'generating') {
      await markTurnFailed(tx, storyId, existing.id, { leaseOwner: null, errorCode: 'lease_expired', errorMessage: 'The story moved on.', modelCalls: 0 });
    }
    return { action: 'conflict', reason: 'the story has moved on since this request was first made', inFlightTurnId: null };
  }
  const how = existing.status === 'generating' ? 'takeover' : 'retry';
  const turn = await claimTurn(tx, storyId, existing.id, lease);
  return { action: 'generate', plan: await planFor(tx, story, turn), how };
}

/** A request without a known key: replay a finished twin, join, refuse, take over or start. */
async function decideFresh(tx: Transaction, story: StoryRow, input: TurnInput, lease: ClaimLease): Promise<ClaimDecision> {
  const storyId = story.id;
  // Regenerating a story that has no scene yet (its opening failed or its process died) writes the opening.
  const kind = input.kind === 'regenerate' && story.headSceneId === null ? 'open' : input.kind;
  if (kind !== 'open' && story.headSceneId === null) {
    throw new AppError('validation', 'This story has no opening scene yet; regenerate to write it.', { details: { storyId } });
  }
  const fromSceneId = kind === 'open' ? null : (input.fromSceneId ?? story.headSceneId);
  const requestHash = turnRequestHash(kind, fromSceneId, input.choiceNumber, input.instruction);

  const staleOpen = kind === 'open' && story.headSceneId !== null;
  const staleFrom = kind !== 'open' && fromSceneId !== story.headSceneId;
  if (staleOpen || staleFrom) {
    // A late duplicate of a request that already produced the head gets that same scene.
    if (fromSceneId !== null) {
      const twin = await findSucceededTwin(tx, storyId, fromSceneId, requestHash);
      if (twin && twin.sceneId === story.headSceneId) return { action: 'replay', turnId: twin.id, sceneId: twin.sceneId! };
    }
    const inFlight = await findGeneratingTurn(tx, storyId);
    return {
      action: 'conflict',
      reason: staleOpen ? 'the story already has an opening scene' : 'the story has moved on from that scene',
      inFlightTurnId: inFlight && !inFlight.leaseExpired ? inFlight.id : null,
    };
  }

  // Advancing, the turn in flight, the scene and its authored child are read at once.
  const advance = kind === 'advance' ? await readAdvanceClaimState(tx, storyId, fromSceneId!, input.choiceNumber, AUTHORED_SCENE_KEY) : undefined;
  const inFlight = advance ? advance.inFlight : await findGeneratingTurn(tx, storyId);
  if (inFlight) {
    if (!inFlight.leaseExpired) {
      return inFlight.requestHash === requestHash
        ? { action: 'join', turn: inFlight }
        : { action: 'conflict', reason: 'another turn is in progress', inFlightTurnId: inFlight.id };
    }
    if (inFlight.requestHash === requestHash) {
      const turn = await claimTurn(tx, storyId, inFlight.id, lease);
      return { action: 'generate', plan: await planFor(tx, story, turn, advance), how: 'takeover' };
    }
    await markTurnFailed(tx, storyId, inFlight.id, {
      leaseOwner: null,
      errorCode: 'lease_expired',
      errorMessage: 'The generating process stopped renewing its lease; a different turn went ahead.',
      modelCalls: 0,
    });
  }

  if (advance && input.choiceNumber !== null) {
    const followed = await followAuthoredScene(
      tx,
      { storyId, fromSceneId: fromSceneId!, choiceNumber: input.choiceNumber, instruction: input.instruction, requestHash },
      advance.authoredSceneId,
    );
    if (followed) return { action: 'replay', ...followed, authored: true };
  }
  const turn = await insertTurn(tx, {
    storyId,
    kind,
    fromSceneId,
    choiceNumber: input.choiceNumber,
    instruction: input.instruction,
    requestHash,
    leaseOwner: lease.owner,
    leaseMs: lease.leaseMs,
    claimId: lease.claimId,
    ...(lease.waiterId === undefined ? {} : { waiterId: lease.waiterId }),
  });
  // planFor validates the choice; a bad one throws and the insert rolls back with the transaction.
  return { action: 'generate', plan: await planFor(tx, story, turn, advance), how: 'new' };
}
