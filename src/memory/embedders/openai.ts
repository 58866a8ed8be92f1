import type OpenAI from 'openai';
import { createOpenAIClient, describeOpenAIFailure, openAIEndpoint } from '../../llm/providers/openai.js';
import { AttemptDeadline, attemptError, badOutput, startModelAttempt, type ModelEndpoint } from '../../llm/with-retry.js';
import type { Embedder } from '../embedder.js';
import { createBatchedEmbedder, normaliseEmbeddings } from './normalise-embeddings.js';

export interface OpenAIEmbedderOptions {
  baseUrl: string;
  apiKey?: string | undefined;
  model: string;
  timeoutMs: number;
  /** Texts per /v1/embeddings request. */
  batchSize?: number;
  maxRetries?: number;
  retryBaseDelayMs?: number;
}

/** An embedder on an OpenAI-compatible /v1/embeddings; resolves once a probe text has told it the dimension. */
export async function createOpenAIEmbedder(options: OpenAIEmbedderOptions, signal?: AbortSignal): Promise<Embedder> {
  const client = createOpenAIClient(options);
  const endpoint = openAIEndpoint(options.baseUrl, options.model);
  return createBatchedEmbedder(
    {
      name: 'openai',
      model: options.model,
      batchSize: options.batchSize,
      maxRetries: options.maxRetries,
      retryBaseDelayMs: options.retryBaseDelayMs,
      embedOnce: (batch, dimension, callerSignal) => embedOnce(client, endpoint, options.timeoutMs, batch, dimension, callerSignal),
    },
    signal,
  );
}

async function embedOnce(
  client: OpenAI,
  endpoint: ModelEndpoint,
  timeoutMs: number,
  batch: string[],
  dimension: number | undefined,
  signal: AbortSignal | undefined,
): Promise<number[][]> {
  const deadline = new AttemptDeadline(timeoutMs, signal);
  const attempt = startModelAttempt(endpoint.provider, 'embed', { measureLatency: false });
  try {
    // 'float' explicitly: the client otherwise asks for base64, which many local servers do not speak.
    const reply: unknown = await client.embeddings.create(
      { model: endpoint.model, input: batch, encoding_format: 'float' },
      { signal: deadline.signal },
    );
    const vectors = normaliseEmbeddings(vectorsInInputOrder(reply, batch.length, endpoint), { count: batch.length, dimension }, endpoint);
    attempt.succeeded();
    return vectors;
  } catch (error) {
    const appError = attemptError(error, deadline, endpoint, (e) => describeOpenAIFailure(e, endpoint, 'EMBEDDINGS_MODEL'));
    attempt.failed(appError);
    throw appError;
  } finally {
    deadline.dispose();
  }
}

/** The spec orders `data` by `index`, not by arrival; each index 0…n-1 must appear exactly once. */
function vectorsInInputOrder(reply: unknown, count: number, endpoint: ModelEndpoint): unknown[] {
  const data = (reply as { data?: unknown } | null)?.data;
  if (!Array.isArray(data) || data.length !== count) throw badOutput(endpoint, `returned ${Array.isArray(data) ? data.length : 'no'} embeddings for ${count} texts`);
  const ordered = new Array<unknown>(count);
  for (const item of data as Array<{ index?: unknown; embedding?: unknown } | null>) {
    const index = item?.index;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= count || ordered[index] !== undefined) {
      throw badOutput(endpoint, 'returned embeddings with missing or repeated indexes');
    }
    ordered[index] = item?.embedding;
  }
  return ordered;
}
