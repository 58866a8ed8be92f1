import OpenAI from 'openai';
import type { ChatCompletionCreateParamsBase } from 'openai/resources/chat/completions';
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

export interface OpenAIProviderOptions {
  /** e.g. http://127.0.0.1:8080/v1; a bare host gets /v1 appended. */
  baseUrl: string;
  apiKey?: string | undefined;
  model: string;
  /** Idle timeout per HTTP attempt: how long to wait for the next piece of the answer. */
  timeoutMs: number;
  maxRetries?: number;
  retryBaseDelayMs?: number;
}

export function createOpenAIProvider(options: OpenAIProviderOptions): ModelProvider {
  const client = createOpenAIClient(options);
  const endpoint = openAIEndpoint(options.baseUrl, options.model);
  const retryOptions = (signal: AbortSignal | undefined) => ({
    maxRetries: options.maxRetries ?? defaultModelMaxRetries,
    ...(options.retryBaseDelayMs === undefined ? {} : { baseDelayMs: options.retryBaseDelayMs }),
    signal,
  });

  return {
    name: 'openai',
    model: options.model,
    offline: false,
    complete(request, signal) {
      return withRetry(() => completeOnce(client, endpoint, options.timeoutMs, request, signal), retryOptions(signal));
    },
    stream(request, signal) {
      return streamWithRetry(() => streamOnce(client, endpoint, options.timeoutMs, request, signal), retryOptions(signal));
    },
  };
}

/**
 * One client per provider. We retry ourselves (to count attempts and share the policy with
 * Ollama), so the client's own retries are off; its logging is off because a malformed
 * stream is reported to the caller as llm_bad_output, not printed to the console.
 */
export function createOpenAIClient(options: { baseUrl: string; apiKey?: string | undefined; timeoutMs: number }): OpenAI {
  return new OpenAI({
    baseURL: normaliseOpenAIBaseUrl(options.baseUrl),
    // The client insists on a key; local servers need none, so a placeholder is sent nowhere (see fetch).
    apiKey: options.apiKey ?? 'unused',
    organization: null,
    project: null,
    maxRetries: 0,
    timeout: options.timeoutMs,
    logLevel: 'off',
    ...(options.apiKey ? {} : { fetch: fetchWithoutAuthorization }),
  });
}

const fetchWithoutAuthorization: typeof fetch = (input, init) => {
  const headers = new Headers(init?.headers);
  headers.delete('authorization');
  return fetch(input, { ...init, headers });
};

/** Most servers document their base URL with /v1; accept the bare host too. */
export function normaliseOpenAIBaseUrl(baseUrl: string): string {
  const trimmed = baseUrl.replace(/\/+$/, '');
  return new URL(trimmed).pathname === '/' ? `${trimmed}/v1` : trimmed;
}

export function openAIEndpoint(baseUrl: string, model: string): ModelEndpoint {
  return { serverLabel: 'OpenAI-compatible server', provider: 'openai', host: normaliseOpenAIBaseUrl(baseUrl), model };
}

function chatParams(model: string, request: CompletionRequest): ChatCompletionCreateParamsBase {
  return {
    model,
    messages: request.messages.map(({ role, content }) => ({ role, content })),
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    ...(request.maxTokens === undefined ? {} : { max_tokens: request.maxTokens }),
    ...(request.jsonSchema
      ? { response_format: { type: 'json_schema', json_schema: { name: request.jsonSchema.name, schema: request.jsonSchema.schema } } }
      : {}),
  };
}

async function completeOnce(
  client: OpenAI,
  endpoint: ModelEndpoint,
  timeoutMs: number,
  request: CompletionRequest,
  signal: AbortSignal | undefined,
): Promise<Completion> {
  const deadline = new AttemptDeadline(timeoutMs, signal);
  const attempt = startModelAttempt(endpoint.provider, request.purpose);
  try {
    const reply: unknown = await client.chat.completions.create({ ...chatParams(endpoint.model, request), stream: false }, { signal: deadline.signal });
    const completion = readCompletion(reply, endpoint);
    attempt.succeeded(completion);
    return completion;
  } catch (error) {
    const appError = attemptError(error, deadline, endpoint, (e) => describeOpenAIFailure(e, endpoint));
    attempt.failed(appError);
    throw appError;
  } finally {
    deadline.dispose();
  }
}

/** The body is only typed by the client; a server may still answer with something else. */
function readCompletion(reply: unknown, endpoint: ModelEndpoint): Completion {
  const body = reply as Partial<OpenAI.Chat.Completions.ChatCompletion> | string | null | undefined;
  if (typeof body !== 'object' || body === null) throw badOutput(endpoint, 'answered with a body that is not a chat completion');
  const content = body.choices?.[0]?.message?.content;
  if (typeof content !== 'string') throw badOutput(endpoint, 'answered without message content');
  return { text: content, model: endpoint.model, ...usageOf(body.usage) };
}

async function* streamOnce(
  client: OpenAI,
  endpoint: ModelEndpoint,
  timeoutMs: number,
  request: CompletionRequest,
  signal: AbortSignal | undefined,
): AsyncGenerator<string, void, undefined> {
  const deadline = new AttemptDeadline(timeoutMs, signal);
  const attempt = startModelAttempt(endpoint.provider, request.purpose);
  let finished = false;
  try {
    const chunks = await client.chat.completions.create(
      { ...chatParams(endpoint.model, request), stream: true, stream_options: { include_usage: true } },
      { signal: deadline.signal },
    );
    let usage: ReturnType<typeof usageOf> = {};
    for await (const chunk of chunks) {
      deadline.touch();
      const choice = chunk.choices?.[0];
      const content: unknown = choice?.delta?.content;
      if (content !== undefined && content !== null && typeof content !== 'string') throw badOutput(endpoint, 'sent a chunk without text');
      if (content) yield content;
      if (choice?.finish_reason) finished = true;
      if (chunk.usage) usage = usageOf(chunk.usage);
    }
    // The client ends a stream quietly when it is aborted, so ask the deadline what happened.
    if (deadline.cancelled || deadline.timedOut) throw new Error('stream aborted');
    if (!finished) throw badOutput(endpoint, 'ended the stream before the model finished');
    attempt.succeeded(usage);
  } catch (error) {
    const appError = attemptError(error, deadline, endpoint, (e) => describeOpenAIFailure(e, endpoint));
    attempt.failed(appError);
    throw appError;
  } finally {
    // The consumer may stop reading early; abort so that the server stops generating.
    if (!finished) {
      deadline.abort();
      attempt.failed(cancelledError());
    }
    deadline.dispose();
  }
}

function usageOf(usage: OpenAI.CompletionUsage | null | undefined): { promptTokens?: number; completionTokens?: number } {
  return {
    ...(typeof usage?.prompt_tokens === 'number' ? { promptTokens: usage.prompt_tokens } : {}),
    ...(typeof usage?.completion_tokens === 'number' ? { completionTokens: usage.completion_tokens } : {}),
  };
}

/** Maps the client's errors (typed by class and status, never by message text) to AppErrors. */
export function describeOpenAIFailure(error: unknown, endpoint: ModelEndpoint, modelVariable = 'OPENAI_MODEL'): AppError {
  const { host, model } = endpoint;
  const where = describeEndpoint(endpoint);
  if (error instanceof OpenAI.APIUserAbortError) return cancelledError(error);
  if (error instanceof OpenAI.APIConnectionTimeoutError) {
    return unavailable(`${where} did not answer in time; raise LIVINGWORLD_LLM_TIMEOUT_MS if the model is slow.`, error, endpoint, true);
  }
  if (error instanceof OpenAI.APIConnectionError) {
    const code = networkErrorCode(error.cause);
    return unavailable(
      `Cannot reach the OpenAI-compatible server at ${host}${code ? ` (${code})` : ''}: check that it is running and that OPENAI_BASE_URL is right.`,
      error,
      endpoint,
      true,
    );
  }
  if (error instanceof OpenAI.APIError && typeof error.status === 'number') {
    const status = error.status;
    const serverMessage = serverMessageOf(error);
    const said = serverMessage ? `: ${serverMessage}` : '';
    if (status === 404) {
      const hint =
        error.code === 'model_not_found'
          ? `has no model "${model}"${said}; set ${modelVariable} to one it lists at ${host}/models.`
          : `answered 404${said}; check that OPENAI_BASE_URL ends in /v1 and that ${modelVariable} names a model it lists at ${host}/models.`;
      return new AppError('llm_unavailable', `OpenAI-compatible server at ${host} ${hint}`, {
        cause: error,
        details: { host, model, status, missingModel: model, retryable: false },
      });
    }
    if (status === 401 || status === 403) {
      return unavailable(`${where} refused the credentials (HTTP ${status}); check OPENAI_API_KEY.`, error, endpoint, false, status);
    }
    const retryable = status >= 500;
    return unavailable(`${where} ${retryable ? 'failed' : 'refused the request'} with HTTP ${status}${said}.`, error, endpoint, retryable, status);
  }
  if (error instanceof OpenAI.APIError) {
    return unavailable(`${where} reported an error mid-answer: ${serverMessageOf(error) || 'no details'}.`, error, endpoint, false);
  }
  if (error instanceof SyntaxError) return badOutput(endpoint, 'sent a body that is not valid JSON (truncated or malformed)', error);
  const code = networkErrorCode(error);
  if (code !== undefined) return unavailable(`The connection to ${where} was lost mid-answer (${code}).`, error, endpoint, true);
  return unavailable(`${where} failed: ${oneLine(error instanceof Error ? error.message : String(error))}.`, error, endpoint, false);
}

/** The server's own words: `{"error": {"message"}}` (OpenAI, llama.cpp, vLLM) or `{"error": "..."}`. */
function serverMessageOf(error: InstanceType<typeof OpenAI.APIError>): string {
  const body: unknown = error.error;
  if (typeof body === 'string') return oneLine(body);
  const message = (body as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? oneLine(message) : '';
}

function unavailable(message: string, cause: unknown, endpoint: ModelEndpoint, retryable: boolean, status?: number): AppError {
  return new AppError('llm_unavailable', message, {
    cause,
    details: { host: endpoint.host, model: endpoint.model, retryable, ...(status === undefined ? {} : { status }) },
  });
}
