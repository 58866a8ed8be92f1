import type { Completion, CompletionRequest, ModelProvider } from '../../src/llm/provider.js';
import { AppError } from '../../src/errors.js';

/**
 * A stand-in model for benchmarks (the idea of test/helpers/counting-provider.ts): a fixed
 * latency, a call counter, and a valid JSON scene naming exactly `characterCount` people.
 * `badAnswer(call)` makes chosen calls answer with two choices instead of three, which the
 * parser refuses, so that the engine's corrective re-ask can be counted.
 */
export interface ScriptedProvider extends ModelProvider {
  /** Model calls started so far. */
  calls: number;
}

export interface ScriptedProviderOptions {
  latencyMs: number;
  characterCount?: number;
  badAnswer?: (call: number, request: CompletionRequest) => boolean;
}

const names = ['Mara Vell', 'Tomas Reed', 'Ilse Brandt', 'Oskar Lind', 'Wren Hollis', 'Petra Sand', 'Jonah Crale', 'Edda Morn', 'Silas Fenn', 'Nell Ashby'];

function wait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AppError('cancelled', 'cancelled'));
    if (ms <= 0) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new AppError('cancelled', 'cancelled'));
      },
      { once: true },
    );
  });
}

export function sceneJson(request: CompletionRequest, call: number, characterCount: number, choiceCount = 3): string {
  const task = request.task?.kind === 'scene' ? request.task : undefined;
  const action = task?.chosenAction ?? 'arrive at the harbour';
  const cast = names.slice(0, characterCount);
  return JSON.stringify({
    scene: `Call ${call}: you ${action.toLowerCase()}. ${cast.length > 0 ? `${cast.join(', ')} ${cast.length === 1 ? 'watches' : 'watch'} from the quay.` : 'The quay is empty.'} Gulls circle over the boats and the tide turns.`,
    choices: ['Follow the quay to the lighthouse', 'Ask about the missing boats', 'Climb to the chapel on the hill'].slice(0, choiceCount),
    characters: cast.map((name, i) => ({
      name,
      role: 'present',
      importance: 0.9 - i * 0.05,
      mood: i % 2 ? 'wary' : 'curious',
      thought: `${name.split(' ')[0]} wonders what the stranger wants.`,
      reaction: `${name.split(' ')[0]} turns to look at you.`,
      relationships: [{ target: 'player', sentimentDelta: 0.05, trustDelta: 0.02, familiarityDelta: 0.1 }],
    })),
  });
}

export function createScriptedProvider(options: ScriptedProviderOptions): ScriptedProvider {
  const characterCount = options.characterCount ?? 1;
  const provider: ScriptedProvider = {
    name: 'bench',
    model: 'scripted',
    offline: false,
    calls: 0,
    async complete(request: CompletionRequest, signal?: AbortSignal): Promise<Completion> {
      const call = ++provider.calls;
      await wait(options.latencyMs, signal);
      const bad = options.badAnswer?.(call, request) ?? false;
      return { text: sceneJson(request, call, characterCount, bad ? 2 : 3), model: 'scripted' };
    },
    async *stream(request: CompletionRequest, signal?: AbortSignal): AsyncIterable<string> {
      const { text } = await provider.complete(request, signal);
      for (let i = 0; i < text.length; i += 16) yield text.slice(i, i + 16);
    },
  };
  return provider;
}
