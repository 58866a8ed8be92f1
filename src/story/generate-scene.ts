import type { Completion, CompletionRequest, ContextWindow, ModelProvider } from '../llm/provider.js';
import { countMessageTokens, estimatingCounter, type TokenCounter } from '../llm/token-count.js';
import { AppError, isAppError } from '../errors.js';
import { countedPurpose, type ModelCallPurpose } from '../llm/model-call-counts.js';
import type { EngineDeps } from './engine-deps.js';
import type { GenerationPlan } from './claim-turn.js';
import type { TurnCallCounter } from './turn-call-counter.js';
import { buildRepairRequest, buildSceneRequest, type SceneContext } from './prompts.js';
import { describeParseProblem, parseSceneOutput } from './parse-scene.js';
import { createSceneTextStream } from './scene-text-stream.js';
import { seedFor } from './request-hash.js';
import type { SceneOutput } from './scene-output.js';
import { buildTurnContext, fitToBudget, type TurnContext } from '../memory/build-turn-context.js';
import type { NewestSummaries } from '../memory/summarise.js';
import { describeScenePrompt, type ScenePromptRecord } from './scene-prompt.js';
import { defaultPlayerName, replaceMacrosInRequest } from './macros.js';
import { cardOpeningScene, loadStoryCard } from './story-card.js';
import { storyLoreSettings } from './story-lore-settings.js';
import { loadPath, type LoadedPath } from '../world/scene-path.js';

export interface GeneratedScene {
  output: SceneOutput;
  /** The answer as the model sent it, thinking included. */
  rawOutput: string;
  /** Set when no model wrote the scene (a card's greeting): recorded as the scene's provider. */
  writtenBy?: { provider: string; model: string };
  /** Exactly what the model was sent for the answer that became the scene; none when no model wrote it. */
  prompt?: ScenePromptRecord;
  /** The lore entries the scene's prompt was given (recorded with the scene for timed effects). */
  activatedLoreIds?: string[];
  /** The parent's path as the context walked it (for the summary update after the scene). */
  parentPath?: LoadedPath;
  /** The character memories the context recalled, for the commit to mark recalled. */
  recalledMemoryIds?: string[];
  /** The summaries the context read (for the summary update after the scene). */
  summariesRead?: NewestSummaries;
}

/** Scenes of the path given in full to the storyteller. */
const recentWindow = 4;

export interface ModelCallHooks {
  /** Receives the answer's text (never its thinking) as it is written; set only when someone watches. */
  onText?: ((text: string) => void) | undefined;
  /** true when the model starts thinking, false when it starts answering. */
  onThinking?: ((active: boolean) => void) | undefined;
  /**
   * Counts one call at the model before it is made, under the request's purpose; every HTTP
   * attempt is one (turns.model_calls). With the call's signal, a call aborted before it is sent is not counted.
   */
  countCall: (purpose: ModelCallPurpose, signal?: AbortSignal) => Promise<void>;
}

/**
 * Calls the model, streaming when someone is watching, and counts every attempt the provider
 * reports (retries, fallbacks). A provider that reports none (the offline storyteller) made one.
 */
export async function callModel(provider: ModelProvider, request: CompletionRequest, signal: AbortSignal, hooks: ModelCallHooks): Promise<Completion> {
  let attempts = 0;
  let thinking = false;
  const purpose = countedPurpose(request.purpose);
  const onDelta = hooks.onText || hooks.onThinking
    ? (delta: { text?: string; thinking?: string }) => {
        if (delta.thinking && !thinking) {
          thinking = true;
          hooks.onThinking?.(true);
        }
        if (delta.text) {
          if (thinking) {
            thinking = false;
            hooks.onThinking?.(false);
          }
          hooks.onText?.(delta.text);
        }
      }
    : undefined;
  const sentRequest: CompletionRequest = {
    ...request,
    onAttempt: async () => {
      attempts++;
      await hooks.countCall(purpose, signal);
    },
    ...(onDelta ? { onDelta } : {}),
  };
  let sent = true;
  try {
    return await provider.complete(sentRequest, signal);
  } catch (error) {
    // A provider that failed before any attempt because the call was aborted sent nothing.
    if ((isAppError(error) && error.details?.['notSent'] === true) || (attempts === 0 && signal.aborted)) sent = false;
    throw error;
  } finally {
    if (thinking) hooks.onThinking?.(false);
    if (attempts === 0 && sent) await hooks.countCall(purpose);
  }
}

/** The scene's answer allowance: a quarter of the window, within bounds that fit a scene with its characters. */
export function sceneAnswerTokens(contextTokens: number): number {
  return Math.max(512, Math.min(1536, Math.floor(contextTokens / 4)));
}

/** Room left for what our count may miss of the server's (template tokens, a different tokenizer). */
function safetyTokens(contextTokens: number): number {
  return 32 + Math.ceil(contextTokens * 0.02);
}

/** A model limit the turn cannot work around. */
function windowTooSmall(window: ContextWindow, needed: number): AppError {
  return new AppError(
    'llm_unavailable',
    `The model's context window (${window.tokens} tokens, from ${window.source}) is too small for a scene prompt of about ${needed} tokens; use a model with a larger window or raise LIVINGWORLD_CONTEXT_TOKENS.`,
    { details: { contextTokens: window.tokens, neededTokens: needed, retryable: false } },
  );
}

/**
 * Fits the context to the model's window: window − (system prompt, story, this turn, format)
 * − the answer allowance − what is `reserved` (a re-ask's extra messages), checked against
 * the whole prompt as the tokenizer counts it and tightened until it fits.
 */
function assembleSceneRequest(
  scene: (context: Omit<TurnContext, 'estimatedTokens'>) => CompletionRequest,
  whole: TurnContext,
  limits: { window: ContextWindow | undefined; counter: TokenCounter },
  plan: { answerTokens: number; reservedTokens: number; shrink: number },
): CompletionRequest {
  const { window, counter } = limits;
  if (!window) return scene(whole);
  const empty = { recentScenes: [], memories: [], lore: [], similarScenes: [], instructions: [], characters: [] };
  const fixedTokens = countMessageTokens(counter, scene(empty).messages);
  const limit = window.tokens - safetyTokens(window.tokens) - plan.answerTokens - plan.reservedTokens;
  let budget = Math.floor((limit - fixedTokens) * plan.shrink);
  for (let pass = 0; pass < 6 && budget > 0; pass++) {
    const fitted = fitToBudget(whole, budget, counter.count);
    const request = { ...scene(fitted), maxTokens: plan.answerTokens };
    const promptTokens = countMessageTokens(counter, request.messages);
    if (promptTokens <= limit) return request;
    // The rendered context (headings, character facts) is larger than the budget's item count: scale it down by that ratio.
    const rendered = promptTokens - fixedTokens;
    budget = Math.min(budget - 16, Math.floor((fitted.estimatedTokens * (limit - fixedTokens)) / Math.max(1, rendered)) - 16);
  }
  throw windowTooSmall(window, fixedTokens + plan.answerTokens + plan.reservedTokens);
}

/**
 * Step 2 of a turn (no transaction open): context within the model's window, the model
 * call, parsing. One corrective re-ask for an unusable answer, one re-ask with a larger
 * allowance for an answer cut off by its length, one retry with a shorter context when the
 * server says the prompt is too long. A cut-off answer is never taken as a whole scene.
 */
export async function generateScene(
  deps: EngineDeps,
  plan: GenerationPlan,
  options: { signal: AbortSignal; onText?: (text: string) => void; onThinking?: (active: boolean) => void; modelCalls: TurnCallCounter },
): Promise<GeneratedScene> {
  const { story } = plan;
  const card = await loadStoryCard(deps.db, story);
  const seed = seedFor(story.seed, plan.parentSceneId ?? 'root', plan.choiceNumber, plan.instruction, plan.siblingIndex);
  if (card && plan.parentSceneId === null && card.greetings.length > 0) {
    // A card's opening is its greeting, exactly; a regeneration steps to the next alternate.
    const output = cardOpeningScene(card, plan.siblingIndex, { char: card.characterName, user: story.playerName }, deps.choiceCount);
    const greeting = plan.siblingIndex % card.greetings.length;
    return { output, rawOutput: output.scene, writtenBy: { provider: 'card', model: `greeting ${greeting + 1} of ${card.greetings.length}` } };
  }
  const { provider } = deps;
  const window = provider.contextWindow ? await provider.contextWindow(options.signal) : undefined;
  const counter = provider.tokenCounter ? await provider.tokenCounter() : estimatingCounter;
  const lore = storyLoreSettings(story);
  // Walked once here: the context reads along it, and the summary update after the scene too.
  const parentPath = plan.parentSceneId === null ? undefined : await loadPath(deps.db, story.id, plan.parentSceneId, recentWindow);
  const whole = await buildTurnContext(deps.db, deps.embedder, {
    storyId: story.id,
    headSceneId: plan.parentSceneId,
    recentWindow,
    ...(parentPath ? { path: parentPath } : {}),
    queryText: [plan.chosenAction, plan.instruction].filter(Boolean).join('. ') || story.setting,
    loreSeed: seed,
    loreScanDepth: lore.scanDepth,
    loreTokenBudget: lore.tokenBudget,
    loreRecursive: lore.recursive,
    loreMaxRecursionSteps: lore.maxRecursionSteps,
    loreUseGroupScoring: lore.useGroupScoring,
    // With a known window everything is read and fitted below, against the real prompt.
    ...(window ? { tokenBudget: Number.POSITIVE_INFINITY } : {}),
  });
  const names = { char: card?.characterName ?? whole.characters[0]?.name ?? 'the narrator', user: story.playerName };
  const sceneInput: Omit<SceneContext, 'recentScenes' | 'memories' | 'lore' | 'characters' | 'summary' | 'facts'> = {
    storyTitle: story.title,
    setting: story.setting,
    ...(story.instructions ? { instructions: story.instructions } : {}),
    ...(story.systemPrompt ? { systemPromptOverride: story.systemPrompt } : {}),
    sceneNumber: (plan.parentSceneNumber ?? 0) + 1,
    ...(plan.chosenAction ? { chosenAction: plan.chosenAction } : {}),
    ...(plan.instruction ? { playerInstruction: plan.instruction } : {}),
    ...(story.playerName !== defaultPlayerName ? { playerName: story.playerName } : {}),
    ...(card
      ? {
          card: {
            characterName: card.characterName,
            systemPrompt: card.systemPrompt,
            postHistoryInstructions: card.postHistoryInstructions,
            exampleMessages: card.exampleMessages,
          },
        }
      : {}),
    seed,
    choiceCount: deps.choiceCount,
  };
  // Macros ({{char}}, {{user}}) are replaced in what is sent, never in what is stored.
  const scene = (context: Omit<TurnContext, 'estimatedTokens'>) =>
    replaceMacrosInRequest(
      buildSceneRequest({
        ...sceneInput,
        recentScenes: context.recentScenes,
        ...(context.summary ? { summary: context.summary } : {}),
        ...(context.facts ? { facts: context.facts } : {}),
        memories: [...context.memories, ...context.similarScenes, ...context.instructions],
        lore: context.lore,
        ...(context.loreAfterCharacters ? { loreAfterCharacters: context.loreAfterCharacters } : {}),
        ...(context.loreAtDepth ? { loreAtDepth: context.loreAtDepth } : {}),
        ...(context.loreAuthorNoteTop ? { loreAuthorNoteTop: context.loreAuthorNoteTop } : {}),
        ...(context.loreAuthorNoteBottom ? { loreAuthorNoteBottom: context.loreAuthorNoteBottom } : {}),
        ...(context.loreExamplesTop ? { loreExamplesTop: context.loreExamplesTop } : {}),
        ...(context.loreExamplesBottom ? { loreExamplesBottom: context.loreExamplesBottom } : {}),
        characters: context.characters,
      }),
      names,
    );
  const limits = { window, counter };
  const sizing = { answerTokens: window ? sceneAnswerTokens(window.tokens) : 0, reservedTokens: 0, shrink: 1 };
  const log = deps.log.child({ storyId: story.id, turnId: plan.turn.id });

  let request = assembleSceneRequest(scene, whole, limits, sizing);
  const hooks: ModelCallHooks = { countCall: (purpose, signal) => options.modelCalls.start(purpose, signal), onThinking: options.onThinking };
  // Only the first answer is streamed: a watcher has already seen its prose when a re-ask follows.
  let streaming = options.onText ? { ...hooks, onText: createSceneTextStream(options.onText) } : hooks;
  const tried = { shorterContext: false, largerAnswer: false, repair: false };
  for (;;) {
    let completion: Completion;
    try {
      completion = await callModel(provider, request, options.signal, streaming);
    } catch (error) {
      if (!isAppError(error) || error.details?.['contextOverflow'] !== true || tried.shorterContext || !window) throw error;
      tried.shorterContext = true;
      log.warn({ message: error.message }, 'the server found the prompt too long; shortening the context once');
      sizing.shrink *= 0.7;
      request = assembleSceneRequest(scene, whole, limits, sizing);
      continue;
    }
    streaming = hooks;
    if (completion.finishReason === 'length') {
      if (tried.largerAnswer || !window) {
        throw new AppError('llm_bad_output', 'The model ran out of room twice before finishing the scene; try again, or use a model with a larger context window.', {
          details: { reason: 'cut_off', maxTokens: request.maxTokens },
        });
      }
      tried.largerAnswer = true;
      log.warn({ maxTokens: request.maxTokens }, 'the answer was cut off by its length; asking again with a larger allowance');
      sizing.answerTokens = Math.min(sizing.answerTokens * 2, Math.floor(window.tokens / 2));
      request = assembleSceneRequest(scene, whole, limits, sizing);
      continue;
    }
    try {
      const output = parseSceneOutput(completion.text, { choiceCount: deps.choiceCount });
      return {
        output,
        rawOutput: completion.rawText ?? completion.text,
        prompt: describeScenePrompt(provider, request, completion, { window, counter }),
        activatedLoreIds: whole.activatedLoreIds ?? [],
        recalledMemoryIds: whole.recalledMemoryIds ?? [],
        ...(parentPath ? { parentPath } : {}),
        ...(whole.summariesRead ? { summariesRead: whole.summariesRead } : {}),
      };
    } catch (error) {
      if (!isAppError(error, 'llm_bad_output')) throw error;
      if (tried.repair) {
        throw new AppError(
          'llm_bad_output',
          `The model did not write a usable scene after a corrective re-ask (${describeParseProblem(error)}). Try again or use another model.`,
          { cause: error, details: { modelCalls: options.modelCalls.count } },
        );
      }
      tried.repair = true;
      log.warn({ problem: describeParseProblem(error) }, 'model answer unusable; asking again once');
      // The re-ask carries the bad answer back: room is made for it in the context.
      const echo = buildRepairRequest({ ...request, messages: [] }, completion.text, describeParseProblem(error));
      sizing.reservedTokens = countMessageTokens(counter, echo.messages);
      request = buildRepairRequest(assembleSceneRequest(scene, whole, limits, sizing), completion.text, describeParseProblem(error));
    }
  }
}
