import { randomUUID } from 'node:crypto';
import { noteTurnForPlannerStatistics, retryOnConnectionLoss, withTransaction } from '../db/index.js';
import { AppError, isAppError, toAppError, type ErrorCode, errorCodes } from '../errors.js';
import { turnEvents } from '../metrics.js';
import { writeSceneMemories, prepareSceneMemories, sceneMemoryParts } from '../characters/write-scene-characters.js';
import { prepareSummaryUpdate } from '../memory/summarise.js';
import { refreshVectorIndexes } from '../memory/embedding-settings.js';
import { enqueueJob, jobsChannel } from '../jobs/index.js';
import { sceneFactParts, worldBranchParts } from '../world/index.js';
import { isSummaryDue } from './summary-job.js';
import { findCharactersDueForReflection } from '../characters/reflection-job.js';
import type { EngineDeps, StoryEvent } from './engine-deps.js';
import { eventsChannel } from './engine-deps.js';
import { decideClaim, type ClaimDecision, type GenerationPlan } from './claim-turn.js';
import { generateScene } from './generate-scene.js';
import { awaitTurn } from './await-turn.js';
import { getStory, insertSceneWithChoices, lockStoryAndTurn } from './story-repo.js';
import { recordTurnModelCalls, findClaimedTurn, findTurn, markTurnFailed, markTurnSucceededAtHead, renewLease } from './turn-repo.js';
import { validateTurnInput } from './validate-turn-input.js';
import { scenePromptParts } from './scene-prompt-repo.js';
import { loreActivationParts } from '../memory/timed-lore.js';
import { createTurnCallCounter } from './turn-call-counter.js';
import { getSceneView, type SceneView } from './scene-view.js';
import type { TurnKind } from './turn-repo.js';
import type { Queryable } from '../db/index.js';
import { holdTurnWaiter, type TurnWaiter } from './hold-turn-waiter.js';

export interface TurnRequest {
  storyId: string;
  kind: TurnKind;
  choiceNumber?: unknown;
  instruction?: unknown;
  /** The head the client saw; a stale one is refused with turn_conflict. */
  fromSceneId?: unknown;
  idempotencyKey?: unknown;
  /** Receives the scene prose as the model writes it (only when this request generates). */
  onText?: (text: string) => void;
  /** true while a reasoning model thinks before it writes, false once it writes. */
  onThinking?: (active: boolean) => void;
  /** Fires when the client has gone: it stops waiting, and the turn stops only if no one else waits for it. */
  signal?: AbortSignal;
  /** Fires when the process must stop (shutdown past its grace): the turn stops whoever waits. */
  stopSignal?: AbortSignal;
}

export interface TurnResult {
  scene: SceneView;
  turnId: string;
  /** generated: this request ran the model; joined: it shared an identical in-flight turn; replayed: the turn had finished before; followed: it moved to a scene an author wrote (no model call). */
  how: 'generated' | 'joined' | 'replayed' | 'followed';
}

const maxPasses = 6;

/** Raised inside the commit when another process has taken the turn over. */
class LeaseLostError extends Error {}

/** Sends the events in order, in one statement. */
async function notify(db: Queryable, ...events: StoryEvent[]): Promise<void> {
  await db.query(`SELECT pg_notify($1, event) FROM unnest($2::text[]) WITH ORDINALITY AS e(event, n) ORDER BY n`, [
    eventsChannel,
    events.map((event) => JSON.stringify(event)),
  ]);
}

function turnConflict(deps: EngineDeps, storyId: string, reason: string): Promise<never> {
  return getStory(deps.db, storyId).then(async (story) => {
    const head = story.headSceneId ? await getSceneView(deps.db, storyId, story.headSceneId) : null;
    turnEvents.inc({ event: 'conflict' });
    throw new AppError('turn_conflict', `The story moved on: ${reason}. Here is the current scene.`, {
      details: { storyId, headSceneId: story.headSceneId, version: story.version, head },
    });
  });
}

const shuttingDown = () => new AppError('shutting_down', 'The server is shutting down; nothing was written. Send the same request again in a moment.');

/** The scene a generation committed: as its commit read it back, or only its id when the commit's reply was lost. */
type Committed = { sceneId: string; view?: SceneView };

/**
 * Steps 2–4 of the protocol for a turn this process owns. The generation belongs to every
 * waiter: the caller leaving stops it only when no other waiter, on any process, is left;
 * the stop signal (shutdown) stops it regardless.
 */
async function runGeneration(deps: EngineDeps, plan: GenerationPlan, request: TurnRequest, waiter: TurnWaiter): Promise<Committed> {
  const { story, turn } = plan;
  const log = deps.log.child({ storyId: story.id, turnId: turn.id, fromSceneId: turn.fromSceneId });
  const controller = new AbortController();
  let callerGone = false;
  let stopped = false;
  const leaveIfAlone = () =>
    waiter.leave().then(
      (cancelled) => {
        if (cancelled) controller.abort();
      },
      (error: unknown) => log.warn({ err: error }, 'could not leave the turn'),
    );
  const onCallerAbort = () => {
    callerGone = true;
    void leaveIfAlone();
  };
  const onStop = () => {
    stopped = true;
    controller.abort();
  };
  request.signal?.addEventListener('abort', onCallerAbort, { once: true });
  request.stopSignal?.addEventListener('abort', onStop, { once: true });
  if (request.stopSignal?.aborted) onStop();
  else if (request.signal?.aborted) onCallerAbort();
  let leaseLost = false;
  const checkLease = () =>
    renewLease(deps.db, story.id, turn.id, deps.instanceId, deps.leaseMs).then(
      (stillOurs) => {
        if (!stillOurs) {
          leaseLost = true;
          controller.abort();
        }
      },
      (error: unknown) => log.warn({ err: error }, 'could not renew the turn lease'),
    );
  const heartbeat = setInterval(() => {
    void checkLease();
    // Waiters on a process that died stop renewing: once they expire, nobody is left to write for.
    if (callerGone) void leaveIfAlone();
  }, Math.max(50, Math.floor(deps.leaseMs / 3)));
  // The last waiter may leave on another process: its cancellation ends this generation at once.
  const unlisten = await deps.db
    .listen(eventsChannel, (payload) => {
      if (payload.includes(turn.id) && payload.includes('"failed"')) void checkLease();
    })
    .catch(() => async () => {});
  // A turn claimed again (after a failure or a takeover) keeps the calls it had spent.
  const modelCalls = createTurnCallCounter(deps.db, story.id, turn.id, log, turn.modelCalls);
  try {
    const generated = await generateScene(deps, plan, {
      signal: controller.signal,
      modelCalls,
      ...(request.onText ? { onText: request.onText } : {}),
      ...(request.onThinking ? { onThinking: request.onThinking } : {}),
    });
    const prepared = await prepareSceneMemories(deps.embedder, {
      storyId: story.id,
      sceneContent: generated.output.scene,
      sceneNumber: (plan.parentSceneNumber ?? 0) + 1,
      output: generated.output,
      ...(plan.chosenAction ? { chosenAction: plan.chosenAction } : {}),
      ...(plan.instruction ? { instruction: plan.instruction } : {}),
    });
    const newSceneNumber = (plan.parentSceneNumber ?? 0) + 1;
    const background = deps.background;
    // With a model the summary is rewritten by a background job; offline the turn lifts it itself.
    const modelSummaryDue = background?.summaries === 'model' && isSummaryDue(newSceneNumber, background.summaryEveryScenes);
    // The model call is paid for: a database blip here is waited out rather than wasting it.
    const summary =
      background?.summaries === 'model'
        ? undefined
        : await retryOnConnectionLoss(() =>
            prepareSummaryUpdate(deps.db, deps.embedder, {
              storyId: story.id,
              newSceneNumber,
              parentSceneId: plan.parentSceneId,
              ...(generated.parentPath ? { parentPath: generated.parentPath } : {}),
              ...(generated.summariesRead ? { summaries: generated.summariesRead } : {}),
            }),
          );
    if (controller.signal.aborted) throw leaseLost ? new LeaseLostError() : stopped ? shuttingDown() : new AppError('cancelled', 'The turn was cancelled.');
    clearInterval(heartbeat);
    // A model call has been paid for: the commit keeps retrying conflicts longer than usual.
    return await withTransaction(deps.db, { maxAttempts: 30, maxDelayMs: 2_000 }, async (tx) => {
      const { story: current, turn: owned } = await lockStoryAndTurn(tx, story.id, turn.id);
      if (!owned || owned.status !== 'generating' || owned.leaseOwner !== deps.instanceId) throw new LeaseLostError();
      if (current.status === 'archived') {
        throw new AppError('story_archived', `Story ${story.id} was archived while the scene was being written; nothing was added to it.`, { details: { storyId: story.id } });
      }
      if (current.headSceneId !== plan.expectedHeadSceneId) {
        // Only a rewind can move the head under a generating turn, and rewinds refuse while one runs.
        throw new AppError('turn_conflict', 'The story head moved while the scene was being written.');
      }
      const sceneId = randomUUID();
      const scene = await insertSceneWithChoices(
        tx,
        {
          id: sceneId,
          storyId: story.id,
          parentSceneId: plan.parentSceneId,
          parentSceneNumber: plan.parentSceneNumber,
          turnId: turn.id,
          choiceNumber: plan.choiceNumber,
          instruction: plan.instruction,
          content: generated.output.scene,
          rawOutput: generated.rawOutput,
          provider: generated.writtenBy?.provider ?? deps.provider.name,
          model: generated.writtenBy?.model ?? deps.provider.model,
          choices: generated.output.choices,
          embedding: prepared.sceneEmbedding,
        },
        // What the scene brings that nothing later in the commit reads goes in its insert.
        [
          ...worldBranchParts(story.id, plan.parentSceneId, sceneId),
          ...(generated.prompt ? scenePromptParts(story.id, sceneId, generated.prompt) : []),
          ...loreActivationParts(story.id, sceneId, generated.activatedLoreIds ?? []),
          ...sceneMemoryParts({ storyId: story.id, sceneId, sceneNumber: newSceneNumber, turnId: turn.id, prepared, ...(summary ? { summary } : {}) }),
          ...sceneFactParts(story.id, sceneId, generated.output.facts ?? []),
        ],
      );
      await writeSceneMemories(tx, {
        storyId: story.id,
        sceneId: scene.id,
        parentSceneId: plan.parentSceneId,
        sceneNumber: scene.sceneNumber,
        turnId: turn.id,
        prepared,
        recalledMemoryIds: generated.recalledMemoryIds ?? [],
        ...(generated.parentPath ? { parentPathSceneIds: generated.parentPath.ids } : {}),
      });
      let queued = false;
      if (modelSummaryDue) queued = (await enqueueJob(tx, { storyId: story.id, kind: 'summary', sceneId: scene.id })) || queued;
      const reflecting = background ? await findCharactersDueForReflection(tx, story.id, scene.id, background.reflectionThreshold) : [];
      if (reflecting.length > 0) {
        queued = (await enqueueJob(tx, { storyId: story.id, kind: 'reflection', sceneId: scene.id, payload: { characterIds: reflecting } })) || queued;
      }
      if (prepared.embeddingsDeferred || summary?.embedding === null) queued = (await enqueueJob(tx, { storyId: story.id, kind: 'embedding', sceneId: scene.id })) || queued;
      if (queued) await tx.query('SELECT pg_notify($1, $2)', [jobsChannel, story.id]);
      const head = await markTurnSucceededAtHead(tx, { storyId: story.id, turnId: turn.id, sceneId: scene.id, modelCalls: modelCalls.count, channel: eventsChannel });
      return { sceneId: scene.id, view: head.scene };
    });
  } catch (error) {
    clearInterval(heartbeat);
    // What a turn spent is recorded even across a database restart (bounded retries).
    const recordSpentCalls = () =>
      retryOnConnectionLoss(() => recordTurnModelCalls(deps.db, story.id, turn.id, modelCalls.count)).catch((recordError: unknown) =>
        log.error({ err: recordError, modelCalls: modelCalls.count }, 'could not record the model calls of a turn'),
      );
    if (error instanceof LeaseLostError || leaseLost) {
      await recordSpentCalls();
      throw new LeaseLostError();
    }
    // The commit may have landed even if we did not hear back (connection lost during COMMIT).
    const after = await retryOnConnectionLoss(() => findTurn(deps.db, story.id, turn.id)).catch(() => undefined);
    if (after?.status === 'succeeded' && after.sceneId) return { sceneId: after.sceneId };
    const failure = stopped ? shuttingDown() : controller.signal.aborted && !isAppError(error) ? new AppError('cancelled', 'The turn was cancelled.') : toAppError(error);
    const recorded = await retryOnConnectionLoss(() =>
      markTurnFailed(deps.db, story.id, turn.id, {
        leaseOwner: deps.instanceId,
        errorCode: failure.code,
        errorMessage: failure.message,
        modelCalls: modelCalls.count,
      }),
    ).catch((markError: unknown) => {
      log.error({ err: markError }, 'could not record the failed turn; its lease will expire');
      return false;
    });
    if (!recorded) await recordSpentCalls();
    if (recorded) await notify(deps.db, { type: 'turn', storyId: story.id, turnId: turn.id, status: 'failed' }).catch(() => {});
    turnEvents.inc({ event: 'failed' });
    if (failure.code === 'internal') log.error({ err: error }, 'turn failed');
    else log.warn({ code: failure.code, message: failure.message }, 'turn failed');
    throw failure;
  } finally {
    clearInterval(heartbeat);
    await unlisten().catch(() => {});
    request.signal?.removeEventListener('abort', onCallerAbort);
    request.stopSignal?.removeEventListener('abort', onStop);
  }
}

/**
 * After a claim whose outcome is unknown: if it landed, the turn it holds is released at once
 * (marked failed as if its lease had expired, so a keyed retry re-arms it and an identical
 * request may take over), rather than leaving the story leased to nobody for the whole lease.
 */
async function releaseLostClaim(deps: EngineDeps, storyId: string, claimId: string): Promise<void> {
  const claimed = await retryOnConnectionLoss(() => findClaimedTurn(deps.db, storyId, claimId));
  if (!claimed) return;
  const released = await retryOnConnectionLoss(() =>
    markTurnFailed(deps.db, storyId, claimed.id, {
      leaseOwner: deps.instanceId,
      errorCode: 'lease_expired',
      errorMessage: 'The claim was committed but its reply was lost; released at once.',
      modelCalls: 0,
    }),
  );
  if (released) {
    deps.log.warn({ storyId, turnId: claimed.id }, 'released a turn whose claim reply was lost');
    await notify(deps.db, { type: 'turn', storyId, turnId: claimed.id, status: 'failed' }).catch(() => {});
  }
}

// A turn that failed for one of these did not fail on its own merits: a waiter still here claims it again.
const rearmableFailures = new Set(['cancelled', 'lease_expired', 'shutting_down']);

function errorFromTurn(code: string | null, message: string | null): AppError {
  const known = code !== null && code in errorCodes ? (code as ErrorCode) : 'internal';
  return new AppError(known, message ?? 'The turn failed.');
}

/**
 * Takes one turn on a story following the protocol of DESIGN §5: a short locked claim, the
 * model call with no transaction open (lease heartbeats), a short locked commit. Identical
 * concurrent requests share one generation; different ones get turn_conflict.
 */
export async function takeTurn(deps: EngineDeps, request: TurnRequest): Promise<TurnResult> {
  const input = validateTurnInput({
    kind: request.kind,
    choiceNumber: request.choiceNumber,
    instruction: request.instruction,
    fromSceneId: request.fromSceneId,
    idempotencyKey: request.idempotencyKey,
  });
  const log = deps.log.child({ storyId: request.storyId });
  const waitLimitMs = Math.max(deps.leaseMs * 4, 10_000);
  const waiterId = randomUUID();
  // Waiting ends when the client goes or the process stops.
  const waitSignal = request.signal && request.stopSignal ? AbortSignal.any([request.signal, request.stopSignal]) : (request.signal ?? request.stopSignal);
  const waitFor = (turnId: string) => awaitTurn(deps, request.storyId, turnId, { timeoutMs: waitLimitMs, ...(waitSignal ? { signal: waitSignal } : {}) });
  const whyWaitEnded = (error: unknown) => (request.stopSignal?.aborted ? shuttingDown() : error);
  // Each pass either finishes, or ends because a turn we depended on expired or was cancelled.
  for (let pass = 0; pass < maxPasses; pass++) {
    // Named before it is sent: if the COMMIT's reply is lost, this id says whether it landed.
    const lease = { owner: deps.instanceId, leaseMs: deps.leaseMs, claimId: randomUUID(), waiterId };
    let decision: ClaimDecision;
    try {
      decision = await withTransaction(deps.db, {}, (tx) => decideClaim(tx, request.storyId, input, lease));
    } catch (error) {
      if (!isAppError(error, 'database_unavailable') || pass === maxPasses - 1) throw error;
      await releaseLostClaim(deps, request.storyId, lease.claimId);
      continue;
    }
    if (decision.action === 'replay' && decision.authored) {
      turnEvents.inc({ event: 'followed' });
      return { scene: await getSceneView(deps.db, request.storyId, decision.sceneId), turnId: decision.turnId, how: 'followed' };
    }
    if (decision.action === 'replay') {
      turnEvents.inc({ event: 'replayed' });
      log.info({ turnId: decision.turnId, sceneId: decision.sceneId }, 'duplicate request answered with the scene its turn already produced');
      return { scene: await getSceneView(deps.db, request.storyId, decision.sceneId), turnId: decision.turnId, how: 'replayed' };
    }
    if (decision.action === 'conflict') {
      log.warn({ reason: decision.reason, inFlightTurnId: decision.inFlightTurnId }, 'turn refused');
      // Let the turn in flight land first, so the refusal carries the scene that won. If it
      // did not win (its process died, it failed), the story did not move: claim again.
      if (decision.inFlightTurnId) {
        const other = await awaitTurn(deps, request.storyId, decision.inFlightTurnId, {
          timeoutMs: waitLimitMs,
          ...(request.signal ? { signal: request.signal } : {}),
        }).catch(() => undefined);
        if (other && other.status !== 'succeeded') continue;
      }
      return turnConflict(deps, request.storyId, decision.reason);
    }
    if (decision.action === 'generate') {
      if (decision.how !== 'new') {
        turnEvents.inc({ event: 'takeover' });
        log.warn({ turnId: decision.plan.turn.id, how: decision.how, attempts: decision.plan.turn.attempts }, 'taking over a turn whose lease expired or that failed');
      } else {
        turnEvents.inc({ event: 'started' });
      }
      const waiter = holdTurnWaiter(deps, request.storyId, decision.plan.turn.id, waiterId);
      try {
        const committed = await runGeneration(deps, decision.plan, request, waiter);
        waiter.committed();
        turnEvents.inc({ event: 'succeeded' });
        // Index upkeep reads whole tables: the player has the scene meanwhile.
        if (await noteTurnForPlannerStatistics(deps.db)) {
          void refreshVectorIndexes(deps.db, deps.embedder).catch((error: unknown) => log.warn({ err: error }, 'could not check the vector indexes'));
        }
        return { scene: committed.view ?? (await getSceneView(deps.db, request.storyId, committed.sceneId)), turnId: decision.plan.turn.id, how: 'generated' };
      } catch (error) {
        if (!(error instanceof LeaseLostError)) throw error;
        log.warn({ turnId: decision.plan.turn.id }, 'lost the turn lease to another process; waiting for its result');
        const finished = await waitFor(decision.plan.turn.id).catch(async (waitError: unknown) => {
          if (waitSignal?.aborted) await waiter.leave().catch(() => false);
          throw whyWaitEnded(waitError);
        });
        if (finished.status === 'succeeded') {
          return { scene: await getSceneView(deps.db, request.storyId, finished.sceneId!), turnId: finished.id, how: 'joined' };
        }
        continue;
      } finally {
        await waiter.done();
      }
    }
    // join: this request now waits for the turn as much as its owner does.
    turnEvents.inc({ event: 'joined' });
    log.info({ turnId: decision.turn.id, fromSceneId: decision.turn.fromSceneId }, 'joined an identical turn already in flight');
    const waiter = holdTurnWaiter(deps, request.storyId, decision.turn.id, waiterId);
    let finished: Awaited<ReturnType<typeof waitFor>>;
    try {
      finished = await waitFor(decision.turn.id).catch(async (waitError: unknown) => {
        if (waitSignal?.aborted) await waiter.leave().catch(() => false);
        throw whyWaitEnded(waitError);
      });
    } finally {
      await waiter.done();
    }
    if (finished.status === 'succeeded') {
      return { scene: await getSceneView(deps.db, request.storyId, finished.sceneId!), turnId: finished.id, how: 'joined' };
    }
    if (finished.status === 'failed' && !rearmableFailures.has(finished.errorCode ?? '')) {
      throw errorFromTurn(finished.errorCode, finished.errorMessage);
    }
    // Expired or cancelled by its owner: claim again, which takes it over or starts afresh.
  }
  throw new AppError('llm_unavailable', 'The scene could not be written after several attempts; try again.');
}
