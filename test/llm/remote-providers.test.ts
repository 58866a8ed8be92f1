import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAppError, type AppError } from '../../src/errors.js';
import { modelCalls, modelTokens } from '../../src/metrics.js';
import type { CompletionRequest, ModelProvider } from '../../src/llm/provider.js';
import { createOllamaProvider } from '../../src/llm/providers/ollama.js';
import { createOpenAIProvider } from '../../src/llm/providers/openai.js';
import { FakeOllama, FakeOpenAI, startFakeOllama, startFakeOpenAI, streamPieces, unusedLocalUrl } from '../helpers/fake-model-servers.js';

/**
 * Both remote providers must behave the same towards the engine, so one suite runs against
 * each, through a fake server that speaks that provider's wire format.
 */

const request: CompletionRequest = {
  messages: [
    { role: 'system', content: 'You write scenes.' },
    { role: 'user', content: 'Open the story.' },
  ],
  temperature: 0.7,
  maxTokens: 300,
  purpose: 'scene',
};

const sceneSchema = { name: 'scene', schema: { type: 'object', properties: { scene: { type: 'string' } }, required: ['scene'] } };

interface Harness {
  label: 'ollama' | 'openai';
  chatPath: string;
  start(): Promise<FakeOllama | FakeOpenAI>;
  provider(url: string, options?: { model?: string; timeoutMs?: number; maxRetries?: number }): ModelProvider;
  /** The structured-output field of a recorded request body. */
  schemaSent(body: any): unknown;
  missingModelHint: RegExp;
}

const harnesses: Harness[] = [
  {
    label: 'ollama',
    chatPath: '/api/chat',
    start: startFakeOllama,
    provider: (url, o = {}) =>
      createOllamaProvider({ host: url, model: o.model ?? 'llama3.2', timeoutMs: o.timeoutMs ?? 5_000, maxRetries: o.maxRetries ?? 2, retryBaseDelayMs: 5 }),
    schemaSent: (body) => body.format,
    missingModelHint: /ollama pull nope.*OLLAMA_MODEL/,
  },
  {
    label: 'openai',
    chatPath: '/v1/chat/completions',
    start: startFakeOpenAI,
    provider: (url, o = {}) =>
      createOpenAIProvider({
        baseUrl: `${url}/v1`,
        model: o.model ?? 'qwen2.5-7b-instruct',
        timeoutMs: o.timeoutMs ?? 5_000,
        maxRetries: o.maxRetries ?? 2,
        retryBaseDelayMs: 5,
      }),
    schemaSent: (body) => body.response_format,
    missingModelHint: /OPENAI_MODEL/,
  },
];

async function collect(stream: AsyncIterable<string>): Promise<string[]> {
  const pieces: string[] = [];
  for await (const piece of stream) pieces.push(piece);
  return pieces;
}

async function failureOf(work: Promise<unknown>): Promise<AppError> {
  const error = await work.then(
    () => expect.unreachable('expected the call to fail'),
    (e: unknown) => e,
  );
  if (!isAppError(error)) throw error;
  return error;
}

async function callCount(provider: string, outcome: string): Promise<number> {
  const { values } = await modelCalls.get();
  return values.filter((v) => v.labels.provider === provider && v.labels.purpose === 'scene' && v.labels.outcome === outcome).reduce((sum, v) => sum + v.value, 0);
}

describe.each(harnesses)('$label provider', (harness) => {
  let server: FakeOllama | FakeOpenAI;

  beforeEach(async () => {
    server = await harness.start();
  });

  afterEach(async () => {
    await server.close();
  });

  it('completes without streaming and reports the tokens used', async () => {
    const provider = harness.provider(server.url);
    const tokensBefore = (await modelTokens.get()).values.filter((v) => v.labels.provider === harness.label).reduce((s, v) => s + v.value, 0);
    const completion = await provider.complete(request);
    expect(completion.text).toBe(server.script.text);
    expect(completion.promptTokens).toBeGreaterThan(0);
    expect(completion.completionTokens).toBeGreaterThan(0);
    const [sent] = server.requestsTo(harness.chatPath);
    expect(sent?.body.stream).toBe(false);
    expect(sent?.body.messages).toEqual(request.messages);
    expect(provider).toMatchObject({ name: harness.label, offline: false });
    const tokensAfter = (await modelTokens.get()).values.filter((v) => v.labels.provider === harness.label).reduce((s, v) => s + v.value, 0);
    expect(tokensAfter - tokensBefore).toBe((completion.promptTokens ?? 0) + (completion.completionTokens ?? 0));
  });

  it('streams the answer piece by piece, adding up to the whole text', async () => {
    const pieces = await collect(harness.provider(server.url).stream(request));
    expect(pieces).toEqual(streamPieces(server.script.text));
    expect(server.requestsTo(harness.chatPath)[0]?.body.stream).toBe(true);
  });

  it('sends temperature and the token limit in the provider\'s own terms', async () => {
    await harness.provider(server.url).complete(request);
    const body = server.requestsTo(harness.chatPath)[0]?.body;
    // num_ctx covers prompt and answer in 2048-token steps (the fake publishes no window: default 4096).
    if (harness.label === 'ollama') expect(body.options).toEqual({ temperature: 0.7, num_predict: 300, num_ctx: 2048 });
    else expect(body).toMatchObject({ temperature: 0.7, max_tokens: 300 });
  });

  it('asks for JSON matching the schema when the request carries one', async () => {
    await harness.provider(server.url).complete({ ...request, jsonSchema: sceneSchema });
    await collect(harness.provider(server.url).stream({ ...request, jsonSchema: sceneSchema }));
    const [plain, streamed] = server.requestsTo(harness.chatPath).map((r) => harness.schemaSent(r.body));
    const expected = harness.label === 'ollama' ? sceneSchema.schema : { type: 'json_schema', json_schema: sceneSchema };
    expect(plain).toEqual(expected);
    expect(streamed).toEqual(expected);
  });

  it('sends no schema when none is asked for', async () => {
    await harness.provider(server.url).complete(request);
    expect(harness.schemaSent(server.requestsTo(harness.chatPath)[0]?.body)).toBeUndefined();
  });

  it('retries a 500 and returns the answer that follows', async () => {
    server.reply({ failWith: [500] });
    const completion = await harness.provider(server.url).complete(request);
    expect(completion.text).toBe(server.script.text);
    expect(server.requestsTo(harness.chatPath)).toHaveLength(2);
  });

  it('retries a stream that failed before its first piece', async () => {
    server.reply({ failWith: [503, 502] });
    const pieces = await collect(harness.provider(server.url).stream(request));
    expect(pieces.join('')).toBe(server.script.text);
    expect(server.requestsTo(harness.chatPath)).toHaveLength(3);
  });

  it('gives up with llm_unavailable after maxRetries when every attempt fails, counting each attempt', async () => {
    server.reply({ alwaysStatus: 500 });
    const failedBefore = await callCount(harness.label, 'llm_unavailable');
    const error = await failureOf(harness.provider(server.url, { maxRetries: 2 }).complete(request));
    expect(error.code).toBe('llm_unavailable');
    expect(error.message).toContain(server.url);
    expect(error.message).toContain('500');
    expect(server.requestsTo(harness.chatPath)).toHaveLength(3);
    expect((await callCount(harness.label, 'llm_unavailable')) - failedBefore).toBe(3);
  });

  it('does not retry a 400', async () => {
    server.reply({ alwaysStatus: 400 });
    const error = await failureOf(harness.provider(server.url).complete(request));
    expect(error.code).toBe('llm_unavailable');
    expect(error.details?.['retryable']).toBe(false);
    expect(server.requestsTo(harness.chatPath)).toHaveLength(1);
  });

  it('times out a slow answer with llm_unavailable within about the timeout, and hangs up', async () => {
    server.reply({ delayMs: 3_000 });
    const started = Date.now();
    const error = await failureOf(harness.provider(server.url, { timeoutMs: 300, maxRetries: 0 }).complete(request));
    const elapsed = Date.now() - started;
    expect(error.code).toBe('llm_unavailable');
    expect(error.message).toMatch(/did not answer/);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(1_500);
    await server.waitFor(() => server.closedEarly.length === 1);
  });

  it('times out a stream that stalls after its first piece', async () => {
    server.reply({ fault: 'stall-mid-stream' });
    const pieces: string[] = [];
    const error = await failureOf(
      (async () => {
        for await (const piece of harness.provider(server.url, { timeoutMs: 300 }).stream(request)) pieces.push(piece);
      })(),
    );
    expect(error.code).toBe('llm_unavailable');
    expect(pieces).toHaveLength(1);
    expect(server.requestsTo(harness.chatPath)).toHaveLength(1);
  });

  it('reports a truncated body as llm_bad_output', async () => {
    server.reply({ fault: 'truncate' });
    const error = await failureOf(harness.provider(server.url).complete(request));
    expect(error.code).toBe('llm_bad_output');
    expect(server.requestsTo(harness.chatPath)).toHaveLength(1);
  });

  it('reports a stream that ends before the model finished as llm_bad_output', async () => {
    server.reply({ fault: 'truncate' });
    const error = await failureOf(collect(harness.provider(server.url).stream(request)));
    expect(error.code).toBe('llm_bad_output');
    expect(error.message).toMatch(/before the model finished/);
  });

  it('reports a malformed body and a malformed stream line as llm_bad_output', async () => {
    server.reply({ fault: 'malformed' });
    expect((await failureOf(harness.provider(server.url).complete(request))).code).toBe('llm_bad_output');
    expect((await failureOf(collect(harness.provider(server.url).stream(request)))).code).toBe('llm_bad_output');
  });

  it('reports a connection closed mid-stream as llm_unavailable without replaying the stream', async () => {
    server.reply({ fault: 'close-mid-stream' });
    const pieces: string[] = [];
    const error = await failureOf(
      (async () => {
        for await (const piece of harness.provider(server.url).stream(request)) pieces.push(piece);
      })(),
    );
    expect(error.code).toBe('llm_unavailable');
    expect(pieces).toHaveLength(1);
    expect(server.requestsTo(harness.chatPath)).toHaveLength(1);
  });

  it('turns an abort mid-stream into cancelled and closes the connection', async () => {
    server.reply({ fault: 'stall-mid-stream' });
    const controller = new AbortController();
    const pieces: string[] = [];
    const error = await failureOf(
      (async () => {
        for await (const piece of harness.provider(server.url).stream(request, controller.signal)) {
          pieces.push(piece);
          setTimeout(() => controller.abort(), 20);
        }
      })(),
    );
    expect(error.code).toBe('cancelled');
    expect(pieces).toHaveLength(1);
    await server.waitFor(() => server.closedEarly.includes(harness.chatPath));
    expect(server.requestsTo(harness.chatPath)).toHaveLength(1);
  });

  it('cancels a non-streaming call promptly', async () => {
    server.reply({ delayMs: 3_000 });
    const started = Date.now();
    const error = await failureOf(harness.provider(server.url).complete(request, AbortSignal.timeout(100)));
    expect(error.code).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(1_000);
    await server.waitFor(() => server.closedEarly.length === 1);
  });

  it('closes the connection when the consumer stops reading early', async () => {
    server.reply({ fault: 'stall-mid-stream' });
    for await (const piece of harness.provider(server.url).stream(request)) {
      expect(piece).not.toBe('');
      break;
    }
    await server.waitFor(() => server.closedEarly.includes(harness.chatPath));
  });

  it('names the missing model and how to fix it', async () => {
    const error = await failureOf(harness.provider(server.url, { model: 'nope' }).complete(request));
    expect(error.code).toBe('llm_unavailable');
    expect(error.message).toMatch(harness.missingModelHint);
    expect(error.details).toMatchObject({ missingModel: 'nope' });
    expect(server.requestsTo(harness.chatPath)).toHaveLength(1);
  });

  it('says which host cannot be reached when nothing listens', async () => {
    const url = await unusedLocalUrl();
    const error = await failureOf(harness.provider(url, { maxRetries: 1 }).complete(request));
    expect(error.code).toBe('llm_unavailable');
    expect(error.message).toContain(url);
    expect(error.message).not.toMatch(/\n/);
  });
});

describe('openai provider credentials', () => {
  let server: FakeOpenAI;
  beforeEach(async () => {
    server = await startFakeOpenAI();
  });
  afterEach(async () => {
    await server.close();
  });

  it('sends the API key as a bearer token but never puts it in an error message', async () => {
    const secret = 'sk-test-secret-123';
    server.reply({ alwaysStatus: 401 });
    const provider = createOpenAIProvider({ baseUrl: server.url, apiKey: secret, model: 'qwen2.5-7b-instruct', timeoutMs: 2_000, maxRetries: 0 });
    const error = await failureOf(provider.complete(request));
    expect(server.requests[0]?.headers.authorization).toBe(`Bearer ${secret}`);
    expect(error.message).toMatch(/OPENAI_API_KEY/);
    expect(error.message).not.toContain(secret);
    expect(JSON.stringify(error.details)).not.toContain(secret);
  });

  it('sends no Authorization header when no key is configured', async () => {
    await createOpenAIProvider({ baseUrl: server.url, model: 'qwen2.5-7b-instruct', timeoutMs: 2_000 }).complete(request);
    expect(server.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('appends /v1 to a bare base URL', async () => {
    const provider = createOpenAIProvider({ baseUrl: server.url, model: 'qwen2.5-7b-instruct', timeoutMs: 2_000 });
    await provider.complete(request);
    expect(server.requests.map((r) => r.path).filter((path) => path.includes('chat'))).toEqual(['/v1/chat/completions']);
  });
});
