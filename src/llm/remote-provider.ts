import { AppError, isAppError } from '../errors.js';
import type { CapabilityStore } from './model-capability-repo.js';
import type { Completion, CompletionDelta, CompletionRequest, ContextWindow, ModelProvider, SentRequest, StructuredOutput } from './provider.js';
import { countMessageTokens, loadTokenCounter, type TokenCounter } from './token-count.js';
import { defaultModelMaxRetries, describeEndpoint, streamWithRetry, withRetry, type ModelEndpoint, type RetryOptions } from './with-retry.js';

/**
 * What Ollama and OpenAI-compatible providers share above the wire: the context window and
 * answer allowance of each call, the structured-output fallback (remembered per endpoint and
 * model), retries, attempt counting and streaming with thinking kept apart.
 */

export type ThinkMode = 'auto' | 'on' | 'off';

/** One call as it goes over the wire: the request, how the format is asked for, the sizes. */
export interface PreparedCall {
  request: CompletionRequest;
  structuredOutput: StructuredOutput | undefined;
  sent: SentRequest;
  think: ThinkMode;
}

/** The wire format of one provider: a single HTTP attempt each way. */
export interface ModelWire {
  endpoint: ModelEndpoint;
  completeOnce(call: PreparedCall, signal: AbortSignal | undefined): Promise<Completion>;
  /** Yields text and thinking as they come; returns the whole Completion. */
  streamOnce(call: PreparedCall, signal: AbortSignal | undefined): AsyncGenerator<CompletionDelta, Completion, undefined>;
  probeContextWindow(signal: AbortSignal | undefined): Promise<ContextWindow>;
}

export interface RemoteProviderSettings {
  think?: ThinkMode;
  capabilityStore?: CapabilityStore | undefined;
  maxRetries?: number;
  retryBaseDelayMs?: number;
  /** Bound on all Retry-After and backoff waits of one call. */
  maxRetryWaitMs?: number;
}

/** The answer allowance when the caller names none (talk replies, summaries). */
const defaultAnswerTokens = 1024;
/** Below this an answer has no room worth asking for. */
const minimumAnswerTokens = 256;
/** num_ctx moves in steps: Ollama reloads the model whenever it changes, so it should rarely. */
const numCtxStep = 2048;

const ladder: StructuredOutput[] = ['json_schema', 'json_object', 'prompt'];

export function createRemoteProvider(name: 'ollama' | 'openai', wire: ModelWire, settings: RemoteProviderSettings): ModelProvider {
  const { endpoint } = wire;
  const think = settings.think ?? 'auto';
  let window: Promise<ContextWindow> | undefined;
  let learned: StructuredOutput | undefined;
  const retryOptions = (signal: AbortSignal | undefined): RetryOptions => ({
    maxRetries: settings.maxRetries ?? defaultModelMaxRetries,
    ...(settings.retryBaseDelayMs === undefined ? {} : { baseDelayMs: settings.retryBaseDelayMs }),
    ...(settings.maxRetryWaitMs === undefined ? {} : { maxTotalWaitMs: settings.maxRetryWaitMs }),
    signal,
  });

  const contextWindow = (signal?: AbortSignal): Promise<ContextWindow> => {
    window ??= wire.probeContextWindow(signal).catch((error: unknown) => {
      window = undefined;
      throw error;
    });
    return window;
  };
  const tokenCounter = (): Promise<TokenCounter> => loadTokenCounter(endpoint.model);

  async function startingLevel(request: CompletionRequest): Promise<StructuredOutput | undefined> {
    if (!request.jsonSchema) return undefined;
    if (learned) return learned;
    const stored = await settings.capabilityStore?.loadStructuredOutput(endpoint.host, endpoint.model).catch(() => undefined);
    if (stored) learned = stored;
    return learned ?? 'json_schema';
  }

  async function prepare(request: CompletionRequest, structuredOutput: StructuredOutput | undefined, signal: AbortSignal | undefined): Promise<PreparedCall> {
    const [contextWindowNow, counter] = await Promise.all([contextWindow(signal), tokenCounter()]);
    const promptTokens = countMessageTokens(counter, request.messages);
    const room = contextWindowNow.tokens - promptTokens;
    const maxTokens = Math.min(request.maxTokens ?? defaultAnswerTokens, room);
    if (maxTokens < Math.min(minimumAnswerTokens, request.maxTokens ?? minimumAnswerTokens)) {
      throw contextOverflowError(endpoint, `the prompt (${promptTokens} tokens) leaves no room for an answer in the ${contextWindowNow.tokens}-token context window`, {
        promptTokens,
        contextTokens: contextWindowNow.tokens,
      });
    }
    const needed = promptTokens + maxTokens;
    const numCtx = Math.min(contextWindowNow.tokens, Math.ceil(needed / numCtxStep) * numCtxStep);
    const sent: SentRequest = {
      messages: request.messages.map(({ role, content }) => ({ role, content })),
      contextWindow: contextWindowNow.tokens,
      maxTokens,
      promptTokens,
      ...(name === 'ollama' ? { numCtx } : {}),
      ...(structuredOutput ? { structuredOutput } : {}),
    };
    return { request, structuredOutput, sent, think };
  }

  /** One call with retries; streaming when the caller listens, never retried once something was shown. */
  async function callWithRetries(call: PreparedCall, signal: AbortSignal | undefined): Promise<Completion> {
    const { onDelta, onAttempt } = call.request;
    return withRetry(async () => {
      await onAttempt?.();
      if (!onDelta) return wire.completeOnce(call, signal);
      let shown = false;
      const attempt = wire.streamOnce(call, signal);
      try {
        for (;;) {
          const next = await attempt.next();
          if (next.done) return next.value;
          shown = true;
          onDelta(next.value);
        }
      } catch (error) {
        if (shown && isAppError(error) && error.details?.['retryable'] === true) {
          throw new AppError(error.code, error.message, { cause: error, details: { ...error.details, retryable: false } });
        }
        throw error;
      }
    }, retryOptions(signal));
  }

  return {
    name,
    model: endpoint.model,
    offline: false,
    contextWindow,
    tokenCounter,
    async complete(request, signal) {
      const first = await startingLevel(request);
      let level = first;
      for (;;) {
        const call = await prepare(request, level, signal);
        try {
          const completion = await callWithRetries(call, signal);
          if (level !== first && level !== undefined) {
            learned = level;
            await settings.capabilityStore?.saveStructuredOutput(endpoint.host, endpoint.model, level).catch(() => undefined);
          }
          return { ...completion, sent: call.sent };
        } catch (error) {
          const next = level === undefined ? undefined : ladder[ladder.indexOf(level) + 1];
          if (next === undefined || !isFormatRefusal(error)) throw error;
          level = next;
        }
      }
    },
    stream(request, signal) {
      return streamWithRetry(async function* () {
        const call = await prepare(request, await startingLevel(request), signal);
        await request.onAttempt?.();
        for await (const delta of { [Symbol.asyncIterator]: () => wire.streamOnce(call, signal) }) {
          if (delta.text) yield delta.text;
        }
      }, retryOptions(signal));
    },
  };
}

/** A 400-class refusal that is not about the context: the server did not take the format we asked for. */
function isFormatRefusal(error: unknown): boolean {
  if (!isAppError(error) || error.details?.['contextOverflow'] === true) return false;
  const status = error.details?.['status'];
  return status === 400 || status === 422;
}

export function contextOverflowError(endpoint: ModelEndpoint, what: string, details: Record<string, unknown> = {}): AppError {
  return new AppError('llm_unavailable', `${describeEndpoint(endpoint)}: ${what}; the context is shortened and the call tried again.`, {
    details: { host: endpoint.host, model: endpoint.model, retryable: false, contextOverflow: true, ...details },
  });
}

/**
 * Servers say "context too long" differently: OpenAI's code context_length_exceeded,
 * llama.cpp's type exceed_context_size_error; vLLM and Ollama only in words, so the words
 * are read as a last resort.
 */
export function isContextOverflowReply(code: unknown, type: unknown, message: string): boolean {
  if (code === 'context_length_exceeded' || type === 'exceed_context_size_error') return true;
  return /maximum context length|context length exceeded|exceeds the (?:available )?context (?:size|length)|context window|too many tokens|prompt is too long/i.test(message);
}
