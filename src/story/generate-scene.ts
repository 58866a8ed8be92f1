import type { Completion, CompletionRequest, ModelProvider } from '../llm/provider.js';
import { AppError, isAppError } from '../errors.js';
import type { EngineDeps } from './engine-deps.js';
import type { GenerationPlan } from './claim-turn.js';
import type { TurnCallCounter } from './turn-call-counter.js';
import { buildRepairRequest, buildSceneRequest } from './prompts.js';
import { describeParseProblem, parseSceneOutput } from './parse-scene.js';
import { createSceneTextStream } from './scene-text-stream.js';
import { seedFor } from './request-hash.js';
import type { SceneOutput } from './scene-output.js';
import { buildTurnContext } from '../memory/build-turn-context.js';

export interface GeneratedScene {
  output: SceneOutput;
  rawOutput: string;
}

/** Calls the model, streaming when someone is watching; the result is the whole text either way. */
export async function callModel(
  provider: ModelProvider,
  request: CompletionRequest,
  signal: AbortSignal,
  onChunk?: (chunk: string) => void,
): Promise<Completion> {
  if (!onChunk) return provider.complete(request, signal);
  let text = '';
  for await (const chunk of provider.stream(request, signal)) {
    text += chunk;
    onChunk(chunk);
  }
  return { text, model: provider.model };
}

/**
 * Step 2 of a turn (no transaction open): context, the model call, parsing, and one
 * corrective re-ask when the answer does not hold exactly the expected choices.
 */
export async function generateScene(
  deps: EngineDeps,
  plan: GenerationPlan,
  options: { signal: AbortSignal; onText?: (text: string) => void; modelCalls: TurnCallCounter },
): Promise<GeneratedScene> {
  const { story } = plan;
  const context = await buildTurnContext(deps.db, deps.embedder, {
    storyId: story.id,
    headSceneId: plan.parentSceneId,
    queryText: [plan.chosenAction, plan.instruction].filter(Boolean).join('. ') || story.setting,
  });
  const request = buildSceneRequest({
    storyTitle: story.title,
    setting: story.setting,
    ...(story.instructions ? { instructions: story.instructions } : {}),
    ...(story.systemPrompt ? { systemPromptOverride: story.systemPrompt } : {}),
    sceneNumber: (plan.parentSceneNumber ?? 0) + 1,
    recentScenes: context.recentScenes,
    ...(context.summary ? { summary: context.summary } : {}),
    memories: [...context.memories, ...context.similarScenes, ...context.instructions],
    lore: context.lore,
    ...(plan.chosenAction ? { chosenAction: plan.chosenAction } : {}),
    ...(plan.instruction ? { playerInstruction: plan.instruction } : {}),
    characters: context.characters,
    seed: seedFor(story.seed, plan.parentSceneId ?? 'root', plan.choiceNumber, plan.instruction, plan.siblingIndex),
    choiceCount: deps.choiceCount,
  });

  const stream = options.onText ? createSceneTextStream(options.onText) : undefined;
  await options.modelCalls.start();
  const first = await callModel(deps.provider, request, options.signal, stream);
  try {
    return { output: parseSceneOutput(first.text, { choiceCount: deps.choiceCount }), rawOutput: first.text };
  } catch (error) {
    if (!isAppError(error, 'llm_bad_output')) throw error;
    deps.log.warn({ storyId: story.id, turnId: plan.turn.id, problem: describeParseProblem(error) }, 'model answer unusable; asking again once');
    const repair = buildRepairRequest(request, first.text, describeParseProblem(error));
    // The re-ask is not streamed: the watcher already saw the first attempt's prose.
    await options.modelCalls.start();
    const second = await callModel(deps.provider, repair, options.signal);
    try {
      return { output: parseSceneOutput(second.text, { choiceCount: deps.choiceCount }), rawOutput: second.text };
    } catch (secondError) {
      if (!isAppError(secondError, 'llm_bad_output')) throw secondError;
      throw new AppError(
        'llm_bad_output',
        `The model did not write a usable scene after a corrective re-ask (${describeParseProblem(secondError)}). Try again or use another model.`,
        { cause: secondError, details: { modelCalls: 2 } },
      );
    }
  }
}
