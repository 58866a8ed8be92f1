import type { Embedder } from '../../src/memory/embedder.js';

const stopWords = new Set(['the', 'a', 'an', 'and', 'or', 'of', 'to', 'in', 'on', 'at', 'is', 'was', 'it', 'her', 'his', 'you', 'your', 'with', 'for', 'scene', 'player', 'chose']);

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * A deterministic hashed bag of words: texts sharing words are close, others nearly
 * orthogonal (at a small dimension, collisions add noise — tests choose words accordingly).
 */
export function createTestEmbedder(options: { dimension?: number; name?: string; model?: string } = {}): Embedder & { calls: number } {
  const dimension = options.dimension ?? 16;
  const embedder = {
    name: options.name ?? 'test',
    model: options.model ?? `hashed-bow-${dimension}`,
    dimension,
    calls: 0,
    async embed(texts: string[]) {
      embedder.calls++;
      return texts.map((text) => embedText(text, dimension));
    },
  };
  return embedder;
}

export function embedText(text: string, dimension = 16): number[] {
  const vector = new Array<number>(dimension).fill(0);
  const words = text.toLowerCase().match(/\p{L}+/gu) ?? [];
  for (const word of words) {
    if (stopWords.has(word)) continue;
    const hash = fnv1a(word);
    vector[hash % dimension]! += hash & 0x10000 ? 1 : -1;
  }
  const norm = Math.hypot(...vector);
  if (norm === 0) {
    vector[0] = 1;
    return vector;
  }
  return vector.map((value) => value / norm);
}

/** A unit vector along one axis, for hand-made retrieval sets. */
export function axis(index: number, dimension = 16, mix?: { index: number; weight: number }): number[] {
  const vector = new Array<number>(dimension).fill(0);
  vector[index] = 1;
  if (mix) vector[mix.index] = mix.weight;
  const norm = Math.hypot(...vector);
  return vector.map((value) => value / norm);
}
