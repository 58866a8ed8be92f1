import type { Completion, CompletionRequest, ModelProvider } from '../../src/llm/provider.js';
import { AppError } from '../../src/errors.js';

export interface CountingProvider extends ModelProvider {
  /** Model calls started so far. */
  calls: number;
}

function abortable(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AppError('cancelled', 'cancelled'));
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

/**
 * A test model: answers every scene request with a valid JSON scene after `latencyMs`,
 * naming what the player chose, and counts its calls. `answer` can script other replies.
 */
export function createCountingProvider(options: { latencyMs: number; answer?: (request: CompletionRequest, call: number) => string }): CountingProvider {
  const answer =
    options.answer ??
    ((request: CompletionRequest, call: number) => {
      const task = request.task?.kind === 'scene' ? request.task : undefined;
      const action = task?.chosenAction ?? 'arrive';
      return JSON.stringify({
        scene: `Call ${call}: you ${action.toLowerCase()}${task?.playerInstruction ? ` and ${task.playerInstruction}` : ''}. Mara Vell watches from the quay.`,
        choices: ['Follow Mara along the quay', 'Ask about the missing boats', 'Climb to the lighthouse'],
        characters: [{ name: 'Mara Vell', role: 'present', importance: 0.8, thought: 'Another stranger.', mood: 'wary' }],
      });
    });
  const provider: CountingProvider = {
    name: 'test',
    model: 'counting',
    offline: false,
    calls: 0,
    async complete(request: CompletionRequest, signal?: AbortSignal): Promise<Completion> {
      const call = ++provider.calls;
      await abortable(options.latencyMs, signal);
      const text = answer(request, call);
      // A watcher gets the answer in pieces, as a streaming model would send it.
      if (request.onDelta) for (let i = 0; i < text.length; i += 16) request.onDelta({ text: text.slice(i, i + 16) });
      return { text, model: 'counting' };
    },
    async *stream(request: CompletionRequest, signal?: AbortSignal): AsyncIterable<string> {
      const { onDelta: _ignored, ...plain } = request;
      const { text } = await provider.complete(plain, signal);
      for (let i = 0; i < text.length; i += 16) yield text.slice(i, i + 16);
    },
  };
  return provider;
}
