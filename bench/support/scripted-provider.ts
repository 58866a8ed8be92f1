import type { CompletionRequest } from '../../src/llm/provider.js';
import { createCountingProvider, type CountingProvider } from '../../test/helpers/counting-provider.js';

/**
 * A stand-in model for benchmarks: the tests' counting model (fixed latency, call counter)
 * answering a valid JSON scene naming exactly `characterCount` people.
 * `badAnswer(call)` makes chosen calls answer with two choices instead of three, which the
 * parser refuses, so that the engine's corrective re-ask can be counted.
 */
export type ScriptedProvider = CountingProvider;

export interface ScriptedProviderOptions {
  latencyMs: number;
  characterCount?: number;
  badAnswer?: (call: number, request: CompletionRequest) => boolean;
}

const names = ['Mara Vell', 'Tomas Reed', 'Ilse Brandt', 'Oskar Lind', 'Wren Hollis', 'Petra Sand', 'Jonah Crale', 'Edda Morn', 'Silas Fenn', 'Nell Ashby'];

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
  // The shared counting model (fixed latency, call counter), answering this module's scenes.
  return createCountingProvider({
    latencyMs: options.latencyMs,
    answer: (request, call) => sceneJson(request, call, characterCount, options.badAnswer?.(call, request) ? 2 : 3),
  });
}
