import { AppError, isAppError } from '../errors.js';
import { modelCalls, modelLatencySeconds, modelTokens } from '../metrics.js';

/**
 * Retrying model calls, and the per-attempt pieces every remote provider and embedder
 * shares: a deadline that tells a timeout from a caller's cancel, and attempt metrics.
 */

export interface RetryOptions {
  /** Retries after the first attempt; 0 means try once. */
  maxRetries: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  signal?: AbortSignal | undefined;
  /** Defaults to `isRetryableModelError`. */
  isRetryable?: (error: unknown) => boolean;
  /** Source of jitter in [0, 1); replaceable so tests can pin delays. */
  random?: () => number;
  /** The most all waits of one call may add up to; a server asking for longer fails the call. */
  maxTotalWaitMs?: number;
}

/** A server that says how long to wait (Retry-After) is not kept waiting forever. */
export const defaultMaxTotalRetryWaitMs = 60_000;

/** Two retries: three attempts in all. */
export const defaultModelMaxRetries = 2;
export const defaultRetryBaseDelayMs = 250;
export const defaultRetryMaxDelayMs = 5_000;

/** Runs `fn` until it succeeds, fails with a non-retryable error, or retries run out. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const isRetryable = options.isRetryable ?? isRetryableModelError;
  let waitedMs = 0;
  for (let attempt = 0; ; attempt += 1) {
    throwIfCancelled(options.signal);
    let delayMs: number;
    try {
      return await fn(attempt);
    } catch (error) {
      if (options.signal?.aborted) throw asCancelled(error);
      if (attempt >= options.maxRetries || !isRetryable(error)) throw error;
      delayMs = retryDelayMs(error, attempt, options);
      if (waitedMs + delayMs > (options.maxTotalWaitMs ?? defaultMaxTotalRetryWaitMs)) throw error;
    }
    waitedMs += delayMs;
    await sleepUnlessCancelled(delayMs, options.signal);
  }
}

/**
 * How long to wait before the next attempt: what the server asked for (Retry-After) plus a
 * little jitter, so that clients told the same second do not return together; else backoff.
 */
export function retryDelayMs(error: unknown, retry: number, options: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'> = {}): number {
  const retryAfterMs = isAppError(error) ? error.details?.['retryAfterMs'] : undefined;
  if (typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs) && retryAfterMs >= 0) {
    return Math.ceil(retryAfterMs + (options.random ?? Math.random)() * Math.min(1_000, 100 + retryAfterMs / 10));
  }
  return backoffDelayMs(retry, options);
}

/** Retry-After is either delay-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function parseRetryAfterMs(header: string | null | undefined, nowMs = Date.now()): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (/^\d+(?:\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/**
 * The streaming counterpart of `withRetry`: a failed stream is reopened only while nothing
 * has been yielded, because the caller has already shown what was yielded to the player.
 */
export async function* streamWithRetry<T>(
  open: (attempt: number) => AsyncIterable<T>,
  options: RetryOptions,
): AsyncGenerator<T, void, undefined> {
  const isRetryable = options.isRetryable ?? isRetryableModelError;
  let lastError: unknown;
  for (let attempt = 0; ; attempt += 1) {
    throwIfCancelled(options.signal);
    let yielded = false;
    try {
      for await (const item of open(attempt)) {
        yielded = true;
        yield item;
      }
      return;
    } catch (error) {
      if (options.signal?.aborted) throw asCancelled(error);
      if (yielded || attempt >= options.maxRetries || !isRetryable(error)) throw error;
      lastError = error;
    }
    await sleepUnlessCancelled(retryDelayMs(lastError, attempt, options), options.signal);
  }
}

/** Capped exponential backoff with full jitter: uniform in [0, min(max, base·2^retry)). */
export function backoffDelayMs(retry: number, options: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'> = {}): number {
  const base = options.baseDelayMs ?? defaultRetryBaseDelayMs;
  const max = options.maxDelayMs ?? defaultRetryMaxDelayMs;
  const ceiling = Math.min(max, base * 2 ** retry);
  return Math.floor((options.random ?? Math.random)() * ceiling);
}

/**
 * Model errors say whether a retry can help in `details.retryable`: connection failures,
 * timeouts and 5xx can; 4xx, a missing model and bad output cannot.
 */
export function isRetryableModelError(error: unknown): boolean {
  return isAppError(error) && error.details?.['retryable'] === true;
}

export function cancelledError(cause?: unknown): AppError {
  return new AppError('cancelled', 'The model call was cancelled.', cause === undefined ? {} : { cause });
}

function asCancelled(error: unknown): AppError {
  return isAppError(error, 'cancelled') ? error : cancelledError(error);
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw cancelledError(signal.reason);
}

function sleepUnlessCancelled(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelledError(signal.reason));
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelledError(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The signal for one HTTP attempt. It aborts when the caller aborts or when nothing has
 * arrived for `timeoutMs` — an idle timeout, so a long but steady stream is not cut off.
 * Afterwards `cancelled` / `timedOut` say which of the two it was.
 */
export class AttemptDeadline {
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  #controller = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #callerSignal: AbortSignal | undefined;
  #cancelled = false;
  #timedOut = false;

  constructor(timeoutMs: number, callerSignal?: AbortSignal) {
    this.timeoutMs = timeoutMs;
    this.signal = this.#controller.signal;
    this.#callerSignal = callerSignal;
    if (callerSignal?.aborted) this.#onCallerAbort();
    else callerSignal?.addEventListener('abort', this.#onCallerAbort, { once: true });
    this.touch();
  }

  get cancelled(): boolean {
    return this.#cancelled;
  }

  get timedOut(): boolean {
    return this.#timedOut;
  }

  /** Progress was seen: restart the idle timer. */
  touch(): void {
    if (this.signal.aborted) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timedOut = true;
      this.#controller.abort(new Error(`no answer within ${this.timeoutMs} ms`));
    }, this.timeoutMs);
  }

  /** Abort the HTTP request, e.g. because the consumer stopped reading the stream. */
  abort(): void {
    this.#controller.abort(new Error('abandoned by the caller'));
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#callerSignal?.removeEventListener('abort', this.#onCallerAbort);
  }

  #onCallerAbort = (): void => {
    this.#cancelled = true;
    clearTimeout(this.#timer);
    this.#controller.abort(this.#callerSignal?.reason);
  };
}

export interface ModelEndpoint {
  /** 'Ollama' or 'OpenAI-compatible server', for messages. */
  serverLabel: string;
  /** Metrics label: 'ollama' or 'openai'. */
  provider: string;
  host: string;
  /** Empty when the call is about the server rather than one model (listing models). */
  model: string;
  /** What to suggest when the server is too slow; defaults to raising the model timeout. */
  timeoutHint?: string;
}

/** "Ollama at http://127.0.0.1:11434 (model llama3.2)", for one-line messages. */
export function describeEndpoint(endpoint: ModelEndpoint): string {
  return `${endpoint.serverLabel} at ${endpoint.host}${endpoint.model ? ` (model ${endpoint.model})` : ''}`;
}

/**
 * Turns whatever an attempt threw into an AppError, giving the deadline precedence: once the
 * caller cancelled or the idle timer fired, the network error that follows is only a symptom.
 */
export function attemptError(error: unknown, deadline: AttemptDeadline, endpoint: ModelEndpoint, describe: (error: unknown) => AppError): AppError {
  if (deadline.cancelled) return cancelledError(error);
  if (deadline.timedOut) {
    return new AppError(
      'llm_unavailable',
      `${describeEndpoint(endpoint)} did not answer within ${formatSeconds(deadline.timeoutMs)}; ${endpoint.timeoutHint ?? 'raise LIVINGWORLD_LLM_TIMEOUT_MS if the model is slow'}.`,
      { cause: error, details: { host: endpoint.host, model: endpoint.model, retryable: true, timeoutMs: deadline.timeoutMs } },
    );
  }
  if (error instanceof AppError) return error;
  return describe(error);
}

function formatSeconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
}

export interface TokenUsage {
  promptTokens?: number | undefined;
  completionTokens?: number | undefined;
}

/**
 * Counts one HTTP attempt to a model: its outcome, latency and reported tokens. Embedding
 * calls pass `measureLatency: false` so that they do not skew the generation latency histogram.
 */
export function startModelAttempt(
  provider: string,
  purpose: string | undefined,
  { measureLatency = true }: { measureLatency?: boolean } = {},
): {
  succeeded(usage?: TokenUsage): void;
  failed(error: unknown): void;
} {
  const stopTimer = measureLatency ? modelLatencySeconds.startTimer({ provider }) : undefined;
  let recorded = false;
  const record = (outcome: string) => {
    if (recorded) return;
    recorded = true;
    stopTimer?.();
    modelCalls.inc({ provider, purpose: purpose ?? 'unspecified', outcome });
  };
  return {
    succeeded(usage) {
      record('ok');
      if (usage?.promptTokens) modelTokens.inc({ provider, kind: 'prompt' }, usage.promptTokens);
      if (usage?.completionTokens) modelTokens.inc({ provider, kind: 'completion' }, usage.completionTokens);
    },
    failed(error) {
      record(isAppError(error) ? error.code : 'error');
    },
  };
}

/** undici puts the system error code (ECONNREFUSED, UND_ERR_SOCKET, …) on the cause. */
export function networkErrorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 4; current = current.cause, depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

export function badOutput(endpoint: ModelEndpoint, what: string, cause?: unknown): AppError {
  return new AppError('llm_bad_output', `${describeEndpoint(endpoint)} ${what}.`, {
    ...(cause === undefined ? {} : { cause }),
    details: { host: endpoint.host, model: endpoint.model, retryable: false },
  });
}

/** An error message from a server, cut to one short line so that it fits our own message. */
export function oneLine(text: string, maxLength = 200): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > maxLength ? `${line.slice(0, maxLength - 1)}…` : line;
}
