import { setTimeout as sleep } from 'node:timers/promises';
import type { Completion, CompletionRequest, ModelProvider } from '../provider.js';
import { createSeededRandom, hashText } from './offline/seeded-random.js';
import { writeScene } from './offline/write-scene.js';
import { writeSummary } from './offline/write-summary.js';
import { writeReflection } from './offline/write-reflection.js';
import { writeTalkReply } from './offline/write-talk-reply.js';

export interface OfflineProviderOptions {
  seed: number;
  /** Total simulated model latency per call, spread across the stream; default 0. */
  latencyMs?: number;
}

const wordsPerChunk = 3;

function abortError(signal: AbortSignal): Error {
  const error = new Error('The offline storyteller was aborted.', { cause: signal.reason });
  error.name = 'AbortError';
  return error;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  throwIfAborted(signal);
  if (ms <= 0) return;
  try {
    await sleep(ms, undefined, signal ? { signal } : {});
  } catch (error) {
    if (signal?.aborted) throw abortError(signal);
    throw error;
  }
}

/** Small pieces of a few words each, whitespace kept, so that the pieces join back exactly. */
function splitIntoChunks(text: string): string[] {
  const tokens = text.match(/\S+\s*|\s+/g) ?? [];
  const chunks: string[] = [];
  for (let index = 0; index < tokens.length; index += wordsPerChunk) chunks.push(tokens.slice(index, index + wordsPerChunk).join(''));
  return chunks;
}

function lastUserMessage(request: CompletionRequest): string {
  return [...request.messages].reverse().find((message) => message.role === 'user')?.content.trim() ?? '';
}

/** Without a task there is no story to tell: a plain, honest answer about the user's message. */
function answerPlainly(request: CompletionRequest): string {
  const message = lastUserMessage(request).replace(/\s+/g, ' ');
  if (message === '') return 'The offline storyteller is ready. Start a story to see it at work.';
  const quoted = message.length > 160 ? `${message.slice(0, 157)}…` : message;
  return `The offline storyteller only writes stories, so it cannot really answer "${quoted}". Start or continue a story instead, or configure a language model (Ollama or an OpenAI-compatible server) for free-form questions.`;
}

/**
 * The deterministic, seeded procedural storyteller: no model, no network. The same request
 * always yields the same text, which is what tests and benchmarks rely on.
 */
export function createOfflineProvider(options: OfflineProviderOptions): ModelProvider {
  const latencyMs = Math.max(0, options.latencyMs ?? 0);

  function compose(request: CompletionRequest): string {
    const task = request.task;
    if (!task) return answerPlainly(request);
    // The whole task feeds the seed, so that a different choice or instruction tells a different scene.
    const random = createSeededRandom(hashText(JSON.stringify(task), options.seed ^ task.seed));
    switch (task.kind) {
      case 'scene':
        return JSON.stringify(writeScene(task, random));
      case 'talk':
        return writeTalkReply(task, random);
      case 'summary':
        return writeSummary(task);
      case 'reflection':
        return writeReflection(task);
    }
  }

  function completionOf(request: CompletionRequest, text: string): Completion {
    const promptChars = request.messages.reduce((total, message) => total + message.content.length, 0);
    return {
      text,
      model: 'procedural-v1',
      promptTokens: Math.ceil(promptChars / 4),
      completionTokens: Math.ceil(text.length / 4),
    };
  }

  const provider: ModelProvider = {
    name: 'offline',
    model: 'procedural-v1',
    offline: true,

    async complete(request, signal) {
      if (request.onDelta) {
        // A watcher gets the same text, paced as it would be streamed.
        let text = '';
        for await (const chunk of provider.stream(request, signal)) {
          text += chunk;
          request.onDelta({ text: chunk });
        }
        return completionOf(request, text);
      }
      throwIfAborted(signal);
      const text = compose(request);
      // A few slices rather than one sleep, so that an abort is noticed promptly either way.
      const slices = latencyMs > 0 ? 4 : 0;
      for (let slice = 0; slice < slices; slice++) await pause(latencyMs / slices, signal);
      throwIfAborted(signal);
      return completionOf(request, text);
    },

    async *stream(request, signal) {
      throwIfAborted(signal);
      const chunks = splitIntoChunks(compose(request));
      const delayPerChunkMs = chunks.length > 0 ? latencyMs / chunks.length : 0;
      // Paced against the clock, not by summing small sleeps: timers round each one down.
      const started = performance.now();
      for (const [index, chunk] of chunks.entries()) {
        if (delayPerChunkMs > 0) await pause(Math.max(0, started + (index + 1) * delayPerChunkMs - performance.now()), signal);
        yield chunk;
      }
      throwIfAborted(signal);
    },
  };
  return provider;
}
