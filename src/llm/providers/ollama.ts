import { AppError } from '../../errors.js';
import type { Completion, CompletionRequest, ModelProvider } from '../provider.js';
import {
  AttemptDeadline,
  attemptError,
  badOutput,
  cancelledError,
  defaultModelMaxRetries,
  describeEndpoint,
  networkErrorCode,
  oneLine,
  startModelAttempt,
  streamWithRetry,
  withRetry,
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
}

export function createOllamaProvider(options: OllamaProviderOptions): ModelProvider {
  const endpoint: OllamaEndpoint = {
    serverLabel: 'Ollama',
    provider: 'ollama',
    host: options.host.replace(/\/+$/, ''),
    model: options.model,
    modelVariable: 'OLLAMA_MODEL',
  };
  const retryOptions = (signal: AbortSignal | undefined) => ({
    maxRetries: options.maxRetries ?? defaultModelMaxRetries,
    ...(options.retryBaseDelayMs === undefined ? {} : { baseDelayMs: options.retryBaseDelayMs }),
    signal,
  });

  return {
    name: 'ollama',
    model: options.model,
    offline: false,
    complete(request, signal) {
      return withRetry(() => completeOnce(endpoint, options.timeoutMs, request, signal), retryOptions(signal));
    },
    stream(request, signal) {
      return streamWithRetry(() => streamOnce(endpoint, options.timeoutMs, request, signal), retryOptions(signal));
    },
  };
}

export interface OllamaEndpoint extends ModelEndpoint {
  /** The variable a user changes to pick another model, for the missing-model message. */
  modelVariable: 'OLLAMA_MODEL' | 'EMBEDDINGS_MODEL';
}

interface OllamaChatChunk {
  message?: { content?: unknown };
  done?: unknown;
  error?: unknown;
  prompt_eval_count?: unknown;
  eval_count?: unknown;
}

function chatBody(model: string, request: CompletionRequest, stream: boolean): Record<string, unknown> {
  const modelOptions: Record<string, number> = {};
  if (request.temperature !== undefined) modelOptions['temperature'] = request.temperature;
  if (request.maxTokens !== undefined) modelOptions['num_predict'] = request.maxTokens;
  return {
    model,
    messages: request.messages.map(({ role, content }) => ({ role, content })),
    stream,
    ...(request.jsonSchema ? { format: request.jsonSchema.schema } : {}),
    ...(Object.keys(modelOptions).length > 0 ? { options: modelOptions } : {}),
  };
}

async function completeOnce(
  endpoint: OllamaEndpoint,
  timeoutMs: number,
  request: CompletionRequest,
  signal: AbortSignal | undefined,
): Promise<Completion> {
  const deadline = new AttemptDeadline(timeoutMs, signal);
  const attempt = startModelAttempt(endpoint.provider, request.purpose);
  try {
    const response = await postToOllama(endpoint, '/api/chat', chatBody(endpoint.model, request, false), deadline.signal);
    const reply = parseJsonBody<OllamaChatChunk>(await response.text(), endpoint);
    if (reply.done !== true || typeof reply.message?.content !== 'string') {
      throw badOutput(endpoint, 'answered without a finished message');
    }
    const completion: Completion = { text: reply.message.content, model: endpoint.model, ...usageOf(reply) };
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
  request: CompletionRequest,
  signal: AbortSignal | undefined,
): AsyncGenerator<string, void, undefined> {
  const deadline = new AttemptDeadline(timeoutMs, signal);
  const attempt = startModelAttempt(endpoint.provider, request.purpose);
  let finished = false;
  try {
    const response = await postToOllama(endpoint, '/api/chat', chatBody(endpoint.model, request, true), deadline.signal);
    for await (const chunk of readNdjson<OllamaChatChunk>(response, endpoint, () => deadline.touch())) {
      if (chunk.error !== undefined) throw serverReportedError(endpoint, chunk.error);
      const content = chunk.message?.content;
      if (content !== undefined && typeof content !== 'string') throw badOutput(endpoint, 'sent a chunk without text');
      if (content) yield content;
      if (chunk.done === true) {
        finished = true;
        attempt.succeeded(usageOf(chunk));
        return;
      }
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
  const retryable = response.status >= 500;
  const verb = retryable ? 'failed' : 'refused the request';
  return new AppError(
    'llm_unavailable',
    `${describeEndpoint(endpoint)} ${verb} with HTTP ${response.status}${serverMessage ? `: ${serverMessage}` : ''}.`,
    { details: { ...details, retryable } },
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
