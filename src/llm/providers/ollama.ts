import { AppError } from '../../errors.js';
import { AnswerAssembler } from '../answer-assembler.js';
import { ollamaContextWindow, showOllamaModel } from '../context-window.js';
import type { CapabilityStore } from '../model-capability-repo.js';
import type { Completion, CompletionDelta, FinishReason, ModelProvider } from '../provider.js';
import { createRemoteProvider, isContextOverflowReply, type ModelWire, type PreparedCall, type ThinkMode } from '../remote-provider.js';
import {
  AttemptDeadline,
  attemptError,
  badOutput,
  cancelledError,
  describeEndpoint,
  networkErrorCode,
  oneLine,
  parseRetryAfterMs,
  startModelAttempt,
  type ModelEndpoint,
} from '../with-retry.js';

/*
 * Speaks Ollama's /api/chat with plain fetch rather than the `ollama` client: the client
 * skips malformed NDJSON lines with a console.warn (we must report them as llm_bad_output),
 * reports a truncated stream only through message text, and takes no AbortSignal for
 * non-streaming calls. The wire format is small enough to read directly.
 */

export interface OllamaProviderOptions {
  host: string;
  model: string;
  /** Idle timeout per HTTP attempt: how long to wait for the next piece of the answer. */
  timeoutMs: number;
  maxRetries?: number;
  retryBaseDelayMs?: number;
  maxRetryWaitMs?: number;
  /** LIVINGWORLD_CONTEXT_TOKENS: never ask for a larger num_ctx than this. */
  contextTokensCap?: number | undefined;
  think?: ThinkMode;
  capabilityStore?: CapabilityStore | undefined;
}

export function createOllamaProvider(options: OllamaProviderOptions): ModelProvider {
  const endpoint: OllamaEndpoint = {
    serverLabel: 'Ollama',
    provider: 'ollama',
    host: options.host.replace(/\/+$/, ''),
    model: options.model,
    modelVariable: 'OLLAMA_MODEL',
  };
  const wire: ModelWire = {
    endpoint,
    completeOnce: (call, signal) => completeOnce(endpoint, options.timeoutMs, call, signal),
    streamOnce: (call, signal) => streamOnce(endpoint, options.timeoutMs, call, signal),
    probeContextWindow: async (signal) => ollamaContextWindow(await showOllamaModel(endpoint.host, endpoint.model, signal), options.contextTokensCap),
  };
  return createRemoteProvider('ollama', wire, {
    ...(options.think ? { think: options.think } : {}),
    capabilityStore: options.capabilityStore,
    ...(options.maxRetries === undefined ? {} : { maxRetries: options.maxRetries }),
    ...(options.retryBaseDelayMs === undefined ? {} : { retryBaseDelayMs: options.retryBaseDelayMs }),
    ...(options.maxRetryWaitMs === undefined ? {} : { maxRetryWaitMs: options.maxRetryWaitMs }),
  });
}

export interface OllamaEndpoint extends ModelEndpoint {
  /** The variable a user changes to pick another model, for the missing-model message. */
  modelVariable: 'OLLAMA_MODEL' | 'EMBEDDINGS_MODEL';
}

interface OllamaChatChunk {
  message?: { content?: unknown; thinking?: unknown };
  done?: unknown;
  done_reason?: unknown;
  error?: unknown;
  prompt_eval_count?: unknown;
  eval_count?: unknown;
}

function chatBody(model: string, call: PreparedCall, stream: boolean): Record<string, unknown> {
  const { request, sent } = call;
  // num_ctx always: without it Ollama runs at its default (2048 for long) and cuts the prompt from the front.
  const modelOptions: Record<string, number> = {};
  if (sent.numCtx !== undefined) modelOptions['num_ctx'] = sent.numCtx;
  if (sent.maxTokens !== undefined) modelOptions['num_predict'] = sent.maxTokens;
  if (request.temperature !== undefined) modelOptions['temperature'] = request.temperature;
  const format = call.structuredOutput === 'json_schema' ? request.jsonSchema?.schema : call.structuredOutput === 'json_object' ? 'json' : undefined;
  return {
    model,
    messages: sent.messages,
    stream,
    ...(format ? { format } : {}),
    ...(call.think === 'auto' ? {} : { think: call.think === 'on' }),
    options: modelOptions,
  };
}

function finishReasonOf(chunk: OllamaChatChunk): FinishReason {
  return chunk.done_reason === 'length' ? 'length' : chunk.done_reason === 'stop' || chunk.done_reason === undefined ? 'stop' : 'other';
}

async function completeOnce(endpoint: OllamaEndpoint, timeoutMs: number, call: PreparedCall, signal: AbortSignal | undefined): Promise<Completion> {
  const deadline = new AttemptDeadline(timeoutMs, signal);
  const attempt = startModelAttempt(endpoint.provider, call.request.purpose);
  try {
    const response = await postToOllama(endpoint, '/api/chat', chatBody(endpoint.model, call, false), deadline.signal);
    const reply = parseJsonBody<OllamaChatChunk>(await response.text(), endpoint);
    if (reply.done !== true || typeof reply.message?.content !== 'string') {
      throw badOutput(endpoint, 'answered without a finished message');
    }
    const answer = new AnswerAssembler();
    if (typeof reply.message.thinking === 'string') answer.reasoning(reply.message.thinking);
    answer.content(reply.message.content);
    const completion: Completion = { ...answer.finish(), model: endpoint.model, finishReason: finishReasonOf(reply), ...usageOf(reply) };
    attempt.succeeded(completion);
    return completion;
  } catch (error) {
    const appError = attemptError(error, deadline, endpoint, (e) => describeOllamaFailure(e, endpoint));
    attempt.failed(appError);
    throw appError;
  } finally {
    deadline.dispose();
  }
}

async function* streamOnce(
  endpoint: OllamaEndpoint,
  timeoutMs: number,
  call: PreparedCall,
  signal: AbortSignal | undefined,
): AsyncGenerator<CompletionDelta, Completion, undefined> {
  const deadline = new AttemptDeadline(timeoutMs, signal);
  const attempt = startModelAttempt(endpoint.provider, call.request.purpose);
  let finished = false;
  const deltas: CompletionDelta[] = [];
  const answer = new AnswerAssembler((delta) => deltas.push(delta));
  try {
    const response = await postToOllama(endpoint, '/api/chat', chatBody(endpoint.model, call, true), deadline.signal);
    for await (const chunk of readNdjson<OllamaChatChunk>(response, endpoint, () => deadline.touch())) {
      if (chunk.error !== undefined) throw serverReportedError(endpoint, chunk.error);
      const content = chunk.message?.content;
      const thinking = chunk.message?.thinking;
      if ((content !== undefined && typeof content !== 'string') || (thinking !== undefined && typeof thinking !== 'string')) {
        throw badOutput(endpoint, 'sent a chunk without text');
      }
      if (thinking) answer.reasoning(thinking);
      if (content) answer.content(content);
      if (chunk.done === true) {
        const whole = answer.finish();
        yield* deltas.splice(0);
        finished = true;
        const completion: Completion = { ...whole, model: endpoint.model, finishReason: finishReasonOf(chunk), ...usageOf(chunk) };
        attempt.succeeded(completion);
        return completion;
      }
      yield* deltas.splice(0);
    }
    throw badOutput(endpoint, 'ended the stream before the model finished');
  } catch (error) {
    const appError = attemptError(error, deadline, endpoint, (e) => describeOllamaFailure(e, endpoint));
    attempt.failed(appError);
    throw appError;
  } finally {
    // The consumer may stop reading early; abort so that Ollama stops generating.
    if (!finished) {
      deadline.abort();
      attempt.failed(cancelledError());
    }
    deadline.dispose();
  }
}

function usageOf(chunk: OllamaChatChunk): { promptTokens?: number; completionTokens?: number } {
  return {
    ...(typeof chunk.prompt_eval_count === 'number' ? { promptTokens: chunk.prompt_eval_count } : {}),
    ...(typeof chunk.eval_count === 'number' ? { completionTokens: chunk.eval_count } : {}),
  };
}

/** POSTs JSON to Ollama; a non-2xx answer becomes an AppError that says what to do. */
export async function postToOllama(endpoint: OllamaEndpoint, path: string, body: unknown, signal: AbortSignal): Promise<Response> {
  const response = await fetch(`${endpoint.host}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok) throw await statusError(response, endpoint);
  return response;
}

async function statusError(response: Response, endpoint: OllamaEndpoint): Promise<AppError> {
  const serverMessage = await readErrorMessage(response);
  const details = { host: endpoint.host, model: endpoint.model, status: response.status };
  if (response.status === 404) {
    return new AppError(
      'llm_unavailable',
      `Ollama at ${endpoint.host} has no model "${endpoint.model}": run \`ollama pull ${endpoint.model}\` or set ${endpoint.modelVariable} to an installed model.`,
      { details: { ...details, missingModel: endpoint.model, retryable: false } },
    );
  }
  const retryAfterMs = parseRetryAfterMs(response.headers.get('retry-after'));
  const retryable = response.status >= 500 || response.status === 429;
  const verb = response.status === 429 ? 'is busy (rate limited)' : retryable ? 'failed' : 'refused the request';
  const contextOverflow = response.status < 500 && isContextOverflowReply(undefined, undefined, serverMessage);
  return new AppError(
    'llm_unavailable',
    `${describeEndpoint(endpoint)} ${verb} with HTTP ${response.status}${serverMessage ? `: ${serverMessage}` : ''}.`,
    {
      details: {
        ...details,
        retryable: retryable && !contextOverflow,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        ...(contextOverflow ? { contextOverflow } : {}),
      },
    },
  );
}

/** Ollama answers errors as {"error": "..."}; anything else is shown as its first line. */
async function readErrorMessage(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') return oneLine(parsed.error);
  } catch {
    // not JSON: fall through to the raw text
  }
  return oneLine(text);
}

function serverReportedError(endpoint: OllamaEndpoint, error: unknown): AppError {
  return new AppError(
    'llm_unavailable',
    `${describeEndpoint(endpoint)} reported an error mid-answer: ${oneLine(String(error))}.`,
    { details: { host: endpoint.host, model: endpoint.model, retryable: false } },
  );
}

/** Network-level failures: refused, reset, closed mid-body, unresolvable host. */
export function describeOllamaFailure(error: unknown, endpoint: OllamaEndpoint): AppError {
  const code = networkErrorCode(error);
  const details = { host: endpoint.host, model: endpoint.model, retryable: true, ...(code ? { networkError: code } : {}) };
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') {
    return new AppError('llm_unavailable', `The connection to ${describeEndpoint(endpoint)} was lost mid-answer.`, {
      cause: error,
      details,
    });
  }
  return new AppError(
    'llm_unavailable',
    `Cannot reach Ollama at ${endpoint.host}${code ? ` (${code})` : ''}: start it with \`ollama serve\` or set OLLAMA_HOST.`,
    { cause: error, details },
  );
}

export function parseJsonBody<T>(text: string, endpoint: ModelEndpoint): T {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object') throw new TypeError('not an object');
    return parsed as T;
  } catch (error) {
    throw badOutput(endpoint, 'sent a body that is not valid JSON (truncated or malformed)', error);
  }
}

/**
 * Reads a newline-delimited JSON body line by line, calling `onProgress` whenever bytes
 * arrive (to keep the idle deadline alive). A line that is not JSON is llm_bad_output.
 */
export async function* readNdjson<T>(response: Response, endpoint: ModelEndpoint, onProgress: () => void): AsyncGenerator<T, void, undefined> {
  if (!response.body) throw badOutput(endpoint, 'answered without a body');
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const bytes of response.body) {
    onProgress();
    buffered += decoder.decode(bytes, { stream: true });
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() !== '') yield parseJsonBody<T>(line, endpoint);
    }
  }
  buffered += decoder.decode();
  if (buffered.trim() !== '') yield parseJsonBody<T>(buffered, endpoint);
}
