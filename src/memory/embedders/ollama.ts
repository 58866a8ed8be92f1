import { describeOllamaFailure, parseJsonBody, postToOllama, type OllamaEndpoint } from '../../llm/providers/ollama.js';
import { AttemptDeadline, attemptError, defaultModelMaxRetries, startModelAttempt, withRetry } from '../../llm/with-retry.js';
import type { Embedder } from '../embedder.js';
import { embedInBatches, normaliseEmbeddings } from './normalise-embeddings.js';

export interface OllamaEmbedderOptions {
  host: string;
  model: string;
  timeoutMs: number;
  /** Texts per /api/embed request. */
  batchSize?: number;
  maxRetries?: number;
  retryBaseDelayMs?: number;
}

export const defaultEmbeddingBatchSize = 64;
/** Embedded once at start-up to learn the model's dimension. */
export const dimensionProbeText = 'dimension probe';

/** An embedder on Ollama's /api/embed; resolves once a probe text has told it the dimension. */
export async function createOllamaEmbedder(options: OllamaEmbedderOptions, signal?: AbortSignal): Promise<Embedder> {
  const endpoint: OllamaEndpoint = {
    serverLabel: 'Ollama',
    provider: 'ollama',
    host: options.host.replace(/\/+$/, ''),
    model: options.model,
    modelVariable: 'EMBEDDINGS_MODEL',
  };
  const embedBatch = (batch: string[], dimension: number | undefined, callerSignal: AbortSignal | undefined) =>
    withRetry(() => embedOnce(endpoint, options.timeoutMs, batch, dimension, callerSignal), {
      maxRetries: options.maxRetries ?? defaultModelMaxRetries,
      ...(options.retryBaseDelayMs === undefined ? {} : { baseDelayMs: options.retryBaseDelayMs }),
      signal: callerSignal,
    });

  const [probe] = await embedBatch([dimensionProbeText], undefined, signal);
  const dimension = probe?.length ?? 0;
  const batchSize = options.batchSize ?? defaultEmbeddingBatchSize;
  return {
    name: 'ollama',
    model: options.model,
    dimension,
    embed(texts, callerSignal) {
      return embedInBatches(texts, batchSize, (batch) => embedBatch(batch, dimension, callerSignal));
    },
  };
}

async function embedOnce(
  endpoint: OllamaEndpoint,
  timeoutMs: number,
  batch: string[],
  dimension: number | undefined,
  signal: AbortSignal | undefined,
): Promise<number[][]> {
  const deadline = new AttemptDeadline(timeoutMs, signal);
  const attempt = startModelAttempt(endpoint.provider, 'embed', { measureLatency: false });
  try {
    const response = await postToOllama(endpoint, '/api/embed', { model: endpoint.model, input: batch }, deadline.signal);
    const body = parseJsonBody<{ embeddings?: unknown }>(await response.text(), endpoint);
    const vectors = normaliseEmbeddings(body.embeddings, { count: batch.length, dimension }, endpoint);
    attempt.succeeded();
    return vectors;
  } catch (error) {
    const appError = attemptError(error, deadline, endpoint, (e) => describeOllamaFailure(e, endpoint));
    attempt.failed(appError);
    throw appError;
  } finally {
    deadline.dispose();
  }
}
