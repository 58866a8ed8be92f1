import OpenAI from 'openai';
import type { ChatCompletionCreateParamsBase } from 'openai/resources/chat/completions';
import { AppError } from '../../errors.js';
import { AnswerAssembler } from '../answer-assembler.js';
import { probeOpenAIContextWindow } from '../context-window.js';
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

export interface OpenAIProviderOptions {
  /** e.g. http://127.0.0.1:8080/v1; a bare host gets /v1 appended. */
  baseUrl: string;
  apiKey?: string | undefined;
  model: string;
  /** Idle timeout per HTTP attempt: how long to wait for the next piece of the answer. */
  timeoutMs: number;
  maxRetries?: number;
  retryBaseDelayMs?: number;
  maxRetryWaitMs?: number;
  /** LIVINGWORLD_CONTEXT_TOKENS: the window when the server publishes none, and a cap otherwise. */
  contextTokensCap?: number | undefined;
  think?: ThinkMode;
  capabilityStore?: CapabilityStore | undefined;
}

export function createOpenAIProvider(options: OpenAIProviderOptions): ModelProvider {
  const client = createOpenAIClient(options);
  const endpoint = openAIEndpoint(options.baseUrl, options.model);
  const wire: ModelWire = {
    endpoint,
    completeOnce: (call, signal) => completeOnce(client, endpoint, options.timeoutMs, call, signal),
    streamOnce: (call, signal) => streamOnce(client, endpoint, options.timeoutMs, call, signal),
    probeContextWindow: (signal) =>
      probeOpenAIContextWindow(endpoint.host, endpoint.model, { apiKey: options.apiKey, capTokens: options.contextTokensCap, signal }),
  };
  return createRemoteProvider('openai', wire, {
    ...(options.think ? { think: options.think } : {}),
    capabilityStore: options.capabilityStore,
    ...(options.maxRetries === undefined ? {} : { maxRetries: options.maxRetries }),
    ...(options.retryBaseDelayMs === undefined ? {} : { retryBaseDelayMs: options.retryBaseDelayMs }),
    ...(options.maxRetryWaitMs === undefined ? {} : { maxRetryWaitMs: options.maxRetryWaitMs }),
  });
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

function chatParams(model: string, call: PreparedCall): ChatCompletionCreateParamsBase {
  const { request, sent } = call;
  const responseFormat =
    call.structuredOutput === 'json_schema' && request.jsonSchema
      ? { type: 'json_schema' as const, json_schema: { name: request.jsonSchema.name, schema: request.jsonSchema.schema } }
      : call.structuredOutput === 'json_object'
        ? { type: 'json_object' as const }
        : undefined;
  return {
    model,
    messages: sent.messages,
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    ...(sent.maxTokens === undefined ? {} : { max_tokens: sent.maxTokens }),
    ...(responseFormat ? { response_format: responseFormat } : {}),
    // llama.cpp and vLLM pass this to the chat template (Qwen3, DeepSeek); others ignore it.
    ...(call.think === 'auto' ? {} : { chat_template_kwargs: { enable_thinking: call.think === 'on' } }),
  } as ChatCompletionCreateParamsBase;
}

function finishReasonOf(reason: unknown): FinishReason {
  return reason === 'length' ? 'length' : reason === 'stop' || reason === null || reason === undefined ? 'stop' : 'other';
}

/** Reasoning arrives as reasoning_content (vLLM, llama.cpp, DeepSeek) or reasoning (others). */
function reasoningOf(part: unknown): unknown {
  const record = part as { reasoning_content?: unknown; reasoning?: unknown } | null | undefined;
  return record?.reasoning_content ?? record?.reasoning;
}

async function completeOnce(
  client: OpenAI,
  endpoint: ModelEndpoint,
  timeoutMs: number,
  call: PreparedCall,
  signal: AbortSignal | undefined,
): Promise<Completion> {
  const deadline = new AttemptDeadline(timeoutMs, signal);
  const attempt = startModelAttempt(endpoint.provider, call.request.purpose);
  try {
    const reply: unknown = await client.chat.completions.create({ ...chatParams(endpoint.model, call), stream: false }, { signal: deadline.signal });
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
  const choice = body.choices?.[0];
  const content = choice?.message?.content;
  if (typeof content !== 'string') throw badOutput(endpoint, 'answered without message content');
  const answer = new AnswerAssembler();
  const reasoning = reasoningOf(choice?.message);
  if (typeof reasoning === 'string') answer.reasoning(reasoning);
  answer.content(content);
  return { ...answer.finish(), model: endpoint.model, finishReason: finishReasonOf(choice?.finish_reason), ...usageOf(body.usage) };
}

async function* streamOnce(
  client: OpenAI,
  endpoint: ModelEndpoint,
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
    const chunks = await client.chat.completions.create(
      { ...chatParams(endpoint.model, call), stream: true, stream_options: { include_usage: true } },
      { signal: deadline.signal },
    );
    let usage: ReturnType<typeof usageOf> = {};
    let finishReason: unknown;
    for await (const chunk of chunks) {
      deadline.touch();
      const choice = chunk.choices?.[0];
      const content: unknown = choice?.delta?.content;
      const reasoning = reasoningOf(choice?.delta);
      if ((content !== undefined && content !== null && typeof content !== 'string') || (reasoning != null && typeof reasoning !== 'string')) {
        throw badOutput(endpoint, 'sent a chunk without text');
      }
      if (typeof reasoning === 'string') answer.reasoning(reasoning);
      if (content) answer.content(content);
      if (choice?.finish_reason) finishReason = choice.finish_reason;
      if (chunk.usage) usage = usageOf(chunk.usage);
      yield* deltas.splice(0);
    }
    // The client ends a stream quietly when it is aborted, so ask the deadline what happened.
    if (deadline.cancelled || deadline.timedOut) throw new Error('stream aborted');
    if (finishReason === undefined) throw badOutput(endpoint, 'ended the stream before the model finished');
    const whole = answer.finish();
    yield* deltas.splice(0);
    finished = true;
    const completion: Completion = { ...whole, model: endpoint.model, finishReason: finishReasonOf(finishReason), ...usage };
    attempt.succeeded(usage);
    return completion;
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
    const body = error.error as { code?: unknown; type?: unknown } | undefined;
    if (status < 500 && isContextOverflowReply(error.code ?? body?.code, error.type ?? body?.type, serverMessage)) {
      return new AppError('llm_unavailable', `${where} said the prompt is longer than its context${said}.`, {
        cause: error,
        details: { host, model, status, retryable: false, contextOverflow: true },
      });
    }
    const retryable = status >= 500 || status === 429;
    const retryAfterMs = parseRetryAfterMs(error.headers?.get('retry-after'));
    const verb = status === 429 ? 'is busy (rate limited)' : retryable ? 'failed' : 'refused the request';
    return new AppError('llm_unavailable', `${where} ${verb} with HTTP ${status}${said}.`, {
      cause: error,
      details: { host, model, retryable, status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
    });
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
