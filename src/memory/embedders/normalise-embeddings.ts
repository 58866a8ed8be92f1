import { badOutput, defaultModelMaxRetries, withRetry, type ModelEndpoint } from '../../llm/with-retry.js';
import type { Embedder } from '../embedder.js';

/**
 * Checks what a remote embedding server returned — one finite, non-zero vector per text, all
 * of the same dimension — and L2-normalises them, so that cosine similarity is a dot product
 * whatever the server does. Anything else is llm_bad_output: storing it would poison search.
 */
export function normaliseEmbeddings(
  vectors: unknown,
  expected: { count: number; dimension?: number | undefined },
  endpoint: ModelEndpoint,
): number[][] {
  if (!Array.isArray(vectors) || vectors.length !== expected.count) {
    const got = Array.isArray(vectors) ? `${vectors.length} vectors` : 'no vector list';
    throw badOutput(endpoint, `returned ${got} for ${expected.count} texts`);
  }
  const dimension = expected.dimension ?? (Array.isArray(vectors[0]) ? vectors[0].length : 0);
  if (dimension === 0) throw badOutput(endpoint, 'returned an empty embedding');
  return vectors.map((vector: unknown) => {
    if (!Array.isArray(vector) || vector.length !== dimension) {
      const got = Array.isArray(vector) ? `${vector.length}` : 'no';
      throw badOutput(endpoint, `returned a ${got}-dimensional embedding where ${dimension} dimensions were expected`);
    }
    let sumOfSquares = 0;
    for (const value of vector) {
      if (typeof value !== 'number' || !Number.isFinite(value)) throw badOutput(endpoint, 'returned an embedding with a non-finite value');
      sumOfSquares += value * value;
    }
    if (sumOfSquares === 0) throw badOutput(endpoint, 'returned an all-zero embedding');
    const norm = Math.sqrt(sumOfSquares);
    return (vector as number[]).map((value) => value / norm);
  });
}

/** Splits texts into requests of at most `batchSize`, one after another so a local server is not flooded. */
export async function embedInBatches(
  texts: string[],
  batchSize: number,
  embedBatch: (batch: string[]) => Promise<number[][]>,
): Promise<number[][]> {
  const vectors: number[][] = [];
  for (let start = 0; start < texts.length; start += batchSize) {
    vectors.push(...(await embedBatch(texts.slice(start, start + batchSize))));
  }
  return vectors;
}

export const defaultEmbeddingBatchSize = 64;
/** Embedded once at start-up to learn the model's dimension. */
export const dimensionProbeText = 'dimension probe';

/**
 * A remote embedder from one request function: retried batches, the dimension learnt from a
 * probe text, then every batch checked against it.
 */
export async function createBatchedEmbedder(
  options: {
    name: string;
    model: string;
    batchSize?: number | undefined;
    maxRetries?: number | undefined;
    retryBaseDelayMs?: number | undefined;
    embedOnce: (batch: string[], dimension: number | undefined, signal: AbortSignal | undefined) => Promise<number[][]>;
  },
  signal?: AbortSignal,
): Promise<Embedder> {
  const embedBatch = (batch: string[], dimension: number | undefined, callerSignal: AbortSignal | undefined) =>
    withRetry(() => options.embedOnce(batch, dimension, callerSignal), {
      maxRetries: options.maxRetries ?? defaultModelMaxRetries,
      ...(options.retryBaseDelayMs === undefined ? {} : { baseDelayMs: options.retryBaseDelayMs }),
      signal: callerSignal,
    });
  const [probe] = await embedBatch([dimensionProbeText], undefined, signal);
  const dimension = probe?.length ?? 0;
  const batchSize = options.batchSize ?? defaultEmbeddingBatchSize;
  return {
    name: options.name,
    model: options.model,
    dimension,
    embed(texts, callerSignal) {
      return embedInBatches(texts, batchSize, (batch) => embedBatch(batch, dimension, callerSignal));
    },
  };
}
