import { describeOllamaFailure, parseJsonBody, postToOllama, type OllamaEndpoint } from '../../llm/providers/ollama.js';
import { AttemptDeadline, attemptError, startModelAttempt } from '../../llm/with-retry.js';
import type { Embedder } from '../embedder.js';
import { createBatchedEmbedder, normaliseEmbeddings } from './normalise-embeddings.js';

export interface OllamaEmbedderOptions {
  host: string;
  model: string;
  timeoutMs: number;
  /** Texts per /api/embed request. */
  batchSize?: number;
  maxRetries?: number;
  retryBaseDelayMs?: number;
}


/** An embedder on Ollama's /api/embed; resolves once a probe text has told it the dimension. */
export async function createOllamaEmbedder(options: OllamaEmbedderOptions, signal?: AbortSignal): Promise<Embedder> {
  const endpoint: OllamaEndpoint = {
    serverLabel: 'Ollama',
    provider: 'ollama',
    host: options.host.replace(/\/+$/, ''),
    model: options.model,
    modelVariable: 'EMBEDDINGS_MODEL',
  };
  return createBatchedEmbedder(
    {
      name: 'ollama',
      model: options.model,
      batchSize: options.batchSize,
      maxRetries: options.maxRetries,
      retryBaseDelayMs: options.retryBaseDelayMs,
      embedOnce: (batch, dimension, callerSignal) => embedOnce(endpoint, options.timeoutMs, batch, dimension, callerSignal),
    },
    signal,
  );
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
