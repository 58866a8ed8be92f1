import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { isAppError, type AppError } from '../../src/errors.js';
import type { Embedder } from '../../src/memory/embedder.js';
import { createOllamaEmbedder } from '../../src/memory/embedders/ollama.js';
import { dimensionProbeText } from '../../src/memory/embedders/normalise-embeddings.js';
import { createOpenAIEmbedder } from '../../src/memory/embedders/openai.js';
import { selectEmbedder } from '../../src/memory/select-embedder.js';
import { FakeOllama, FakeOpenAI, fakeVector, startFakeOllama, startFakeOpenAI } from '../helpers/fake-model-servers.js';

const texts = Array.from({ length: 150 }, (_, i) => `memory number ${i}: Mara lit lantern ${i * 7}`);

function unit(vector: number[]): number[] {
  const norm = Math.hypot(...vector);
  return vector.map((value) => value / norm);
}

async function failureOf(work: Promise<unknown>): Promise<AppError> {
  const error = await work.then(() => expect.unreachable('expected a failure'), (e: unknown) => e);
  if (!isAppError(error)) throw error;
  return error;
}

interface Harness {
  label: 'ollama' | 'openai';
  path: string;
  start(): Promise<FakeOllama | FakeOpenAI>;
  create(url: string, options?: { model?: string; batchSize?: number }): Promise<Embedder>;
  missingModelHint: RegExp;
}

const harnesses: Harness[] = [
  {
    label: 'ollama',
    path: '/api/embed',
    start: startFakeOllama,
    create: (url, o = {}) =>
      createOllamaEmbedder({ host: url, model: o.model ?? 'nomic-embed-text', timeoutMs: 2_000, retryBaseDelayMs: 5, ...(o.batchSize ? { batchSize: o.batchSize } : {}) }),
    missingModelHint: /ollama pull nope.*EMBEDDINGS_MODEL/,
  },
  {
    label: 'openai',
    path: '/v1/embeddings',
    start: startFakeOpenAI,
    create: (url, o = {}) =>
      createOpenAIEmbedder({ baseUrl: `${url}/v1`, model: o.model ?? 'text-embedding-3-small', timeoutMs: 2_000, retryBaseDelayMs: 5, ...(o.batchSize ? { batchSize: o.batchSize } : {}) }),
    missingModelHint: /EMBEDDINGS_MODEL/,
  },
];

describe.each(harnesses)('$label embedder', (harness) => {
  let server: FakeOllama | FakeOpenAI;

  beforeEach(async () => {
    server = await harness.start();
  });

  afterEach(async () => {
    await server.close();
  });

  it('learns its dimension from a probe text when created', async () => {
    const embedder = await harness.create(server.url);
    expect(embedder).toMatchObject({ name: harness.label, dimension: server.embeddingDimension });
    expect(server.requestsTo(harness.path).map((r) => r.body.input)).toEqual([[dimensionProbeText]]);
  });

  it('sends 150 texts as three batches of at most 64 and returns the vectors in input order, L2-normalised', async () => {
    const embedder = await harness.create(server.url);
    if (server instanceof FakeOpenAI) server.reverseEmbeddingOrder = true;
    const vectors = await embedder.embed(texts);
    const batches = server.requestsTo(harness.path).slice(1).map((r) => r.body.input as string[]);
    expect(batches.map((batch) => batch.length)).toEqual([64, 64, 22]);
    expect(batches.flat()).toEqual(texts);
    expect(vectors).toHaveLength(150);
    vectors.forEach((vector, i) => {
      expect(Math.hypot(...vector)).toBeCloseTo(1, 10);
      const expected = unit(fakeVector(texts[i]!, server.embeddingDimension));
      vector.forEach((value, d) => expect(value).toBeCloseTo(expected[d]!, 12));
    });
  });

  it('honours a smaller batch size', async () => {
    const embedder = await harness.create(server.url, { batchSize: 10 });
    await embedder.embed(texts.slice(0, 25));
    expect(server.requestsTo(harness.path).slice(1).map((r) => r.body.input.length)).toEqual([10, 10, 5]);
  });

  it('embeds nothing without a request', async () => {
    const embedder = await harness.create(server.url);
    expect(await embedder.embed([])).toEqual([]);
    expect(server.requestsTo(harness.path)).toHaveLength(1);
  });

  it('rejects vectors of mixed dimensions as llm_bad_output', async () => {
    const embedder = await harness.create(server.url);
    server.embedReply = (input) =>
      harness.label === 'ollama'
        ? { embeddings: input.map((_, i) => (i === 1 ? [1, 2, 3] : fakeVector('x', server.embeddingDimension))) }
        : { data: input.map((_, i) => ({ index: i, embedding: i === 1 ? [1, 2, 3] : fakeVector('x', server.embeddingDimension) })) };
    expect((await failureOf(embedder.embed(['a', 'b', 'c']))).code).toBe('llm_bad_output');
  });

  it('rejects a vector whose dimension differs from the probe as llm_bad_output', async () => {
    const embedder = await harness.create(server.url);
    server.embeddingDimension += 1;
    const error = await failureOf(embedder.embed(['a']));
    expect(error.code).toBe('llm_bad_output');
    expect(error.message).toMatch(/dimension/);
  });

  it('rejects non-finite values as llm_bad_output', async () => {
    const embedder = await harness.create(server.url);
    const infinite = `[${Array.from({ length: server.embeddingDimension }, (_, d) => (d === 0 ? '1e400' : '0.5')).join(',')}]`;
    server.embedReply = () => (harness.label === 'ollama' ? `{"embeddings":[${infinite}]}` : `{"data":[{"index":0,"embedding":${infinite}}]}`);
    expect((await failureOf(embedder.embed(['a']))).code).toBe('llm_bad_output');
  });

  it('rejects the wrong number of vectors as llm_bad_output', async () => {
    const embedder = await harness.create(server.url);
    server.embedReply = () =>
      harness.label === 'ollama'
        ? { embeddings: [fakeVector('x', server.embeddingDimension)] }
        : { data: [{ index: 0, embedding: fakeVector('x', server.embeddingDimension) }] };
    expect((await failureOf(embedder.embed(['a', 'b']))).code).toBe('llm_bad_output');
  });

  it('retries a batch that failed with a 500', async () => {
    const embedder = await harness.create(server.url);
    server.reply({ failWith: [500] });
    expect(await embedder.embed(['a'])).toHaveLength(1);
    expect(server.requestsTo(harness.path)).toHaveLength(3);
  });

  it('fails to start with llm_unavailable naming the missing model and the variable to change', async () => {
    const error = await failureOf(harness.create(server.url, { model: 'nope' }));
    expect(error.code).toBe('llm_unavailable');
    expect(error.message).toMatch(harness.missingModelHint);
    expect(error.details).toMatchObject({ missingModel: 'nope' });
  });

  it('stops when the caller aborts', async () => {
    const embedder = await harness.create(server.url);
    server.reply({ delayMs: 2_000 });
    const error = await failureOf(embedder.embed(['a'], AbortSignal.timeout(50)));
    expect(error.code).toBe('cancelled');
  });
});

describe('OpenAI-compatible embedder wire format', () => {
  it('asks for float vectors, which local servers speak, rather than the client default base64', async () => {
    const server = await startFakeOpenAI();
    try {
      await createOpenAIEmbedder({ baseUrl: server.url, model: 'text-embedding-3-small', timeoutMs: 2_000 });
      expect(server.requestsTo('/v1/embeddings')[0]?.body.encoding_format).toBe('float');
    } finally {
      await server.close();
    }
  });
});

describe('selectEmbedder', () => {
  let ollama: FakeOllama;

  beforeEach(async () => {
    ollama = await startFakeOllama();
  });

  afterEach(async () => {
    await ollama.close();
  });

  const configWith = (env: Record<string, string>) => loadConfig({ LIVINGWORLD_DATA_DIR: '.tmp/select-embedder', ...env });

  it('offline: uses the offline embedder', async () => {
    const offline: Embedder = { name: 'offline', model: 'stub', dimension: 3, embed: async (t) => t.map(() => [1, 0, 0]) };
    expect(await selectEmbedder(configWith({ EMBEDDINGS_PROVIDER: 'offline' }), { offline: async () => offline })).toBe(offline);
  });

  it('ollama: probes EMBEDDINGS_MODEL at OLLAMA_HOST', async () => {
    const embedder = await selectEmbedder(configWith({ EMBEDDINGS_PROVIDER: 'ollama', OLLAMA_HOST: ollama.url, EMBEDDINGS_MODEL: 'nomic-embed-text' }));
    expect(embedder).toMatchObject({ name: 'ollama', model: 'nomic-embed-text', dimension: ollama.embeddingDimension });
  });

  it('openai: names the variables that are missing', async () => {
    const error = await failureOf(selectEmbedder(configWith({ EMBEDDINGS_PROVIDER: 'openai' })));
    expect(error.code).toBe('config');
    expect(error.message).toMatch(/OPENAI_BASE_URL and EMBEDDINGS_MODEL/);
  });
});
