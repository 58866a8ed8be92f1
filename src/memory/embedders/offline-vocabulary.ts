import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packagePath } from '../../package-root.js';

/** "LWE1", written by scripts/build-offline-vocabulary.ts. */
const VECTOR_FILE_MAGIC = 0x3145574c;
const HEADER_BYTES = 16;

/**
 * The compact word vectors in memory: int8 rows with a scale each, dequantised only when a
 * word is looked up, so the 60k × 100 table costs about 6 MB instead of 24.
 */
export interface OfflineVocabulary {
  readonly dimension: number;
  readonly wordCount: number;
  /** 0 for the most frequent word; undefined for words outside the vocabulary. */
  rankOf(word: string): number | undefined;
  /** Adds `weight × vector(rank)` into `target`. */
  addScaledVector(rank: number, weight: number, target: Float64Array): void;
}

export const DEFAULT_OFFLINE_DATA_DIR = packagePath('data', 'offline-embeddings');

const loadsByDir = new Map<string, Promise<OfflineVocabulary>>();

/** One load per data directory per process, however many embedders are created. */
export function loadOfflineVocabulary(dataDir: string = DEFAULT_OFFLINE_DATA_DIR): Promise<OfflineVocabulary> {
  let load = loadsByDir.get(dataDir);
  if (!load) {
    load = readVocabulary(dataDir);
    // A failed load (missing files) must not be cached forever: the next call retries.
    load.catch(() => loadsByDir.delete(dataDir));
    loadsByDir.set(dataDir, load);
  }
  return load;
}

async function readVocabulary(dataDir: string): Promise<OfflineVocabulary> {
  const [wordsText, vectorFile] = await Promise.all([
    readFile(join(dataDir, 'words.txt'), 'utf8'),
    readFile(join(dataDir, 'vectors.bin')),
  ]);
  const words = wordsText.split('\n').filter((word) => word.length > 0);
  const { wordCount, dimension, scales, values } = decodeVectorFile(vectorFile);
  if (words.length !== wordCount) {
    throw new Error(`offline vocabulary mismatch: ${words.length} words but ${wordCount} vectors in ${dataDir}`);
  }

  const ranks = new Map<string, number>();
  words.forEach((word, rank) => ranks.set(word, rank));

  return {
    dimension,
    wordCount,
    rankOf: (word) => ranks.get(word),
    addScaledVector(rank, weight, target) {
      const factor = weight * scales[rank]!;
      const offset = rank * dimension;
      for (let d = 0; d < dimension; d++) target[d]! += factor * values[offset + d]!;
    },
  };
}

function decodeVectorFile(file: Buffer): {
  wordCount: number;
  dimension: number;
  scales: Float32Array;
  values: Int8Array;
} {
  if (file.length < HEADER_BYTES || file.readUInt32LE(0) !== VECTOR_FILE_MAGIC) {
    throw new Error('offline vocabulary: vectors.bin is not an LWE1 file');
  }
  const wordCount = file.readUInt32LE(4);
  const dimension = file.readUInt32LE(8);
  const valuesOffset = HEADER_BYTES + wordCount * 4;
  if (file.length !== valuesOffset + wordCount * dimension) {
    throw new Error('offline vocabulary: vectors.bin has the wrong length for its header');
  }
  // Scales are copied because a Float32Array view needs 4-byte alignment, which a Node
  // buffer does not promise; the int8 values are viewed in place.
  const scales = new Float32Array(wordCount);
  for (let i = 0; i < wordCount; i++) scales[i] = file.readFloatLE(HEADER_BYTES + i * 4);
  const values = new Int8Array(file.buffer, file.byteOffset + valuesOffset, wordCount * dimension);
  return { wordCount, dimension, scales, values };
}
