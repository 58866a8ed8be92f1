import type { Embedder } from '../../src/memory/embedder.js';
import { createVectorSource } from './random-vectors.js';

/**
 * Realistic vectors for the retrieval benchmark: embeddings of generated story text (what a
 * character's memories look like: who did what where, with which thing and mood), from the
 * offline embedder and from a stand-in for a remote embedder. The stand-in has the shape of a
 * remote model's output (dense, 256 dimensions, unit length) without a network: a fixed random
 * projection of the offline vector plus hashed character trigrams, so its neighbourhoods
 * follow the same meaning but its geometry (dimension, spread) differs.
 */

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const names = ['Mara', 'Hanna', 'Piet', 'Joren', 'Ilse', 'Tomas', 'Greet', 'Anouk', 'Bram', 'Lieve', 'Otto', 'Femke', 'Sander', 'Wim', 'Roos', 'Kees', 'Marit', 'Daan', 'Noor', 'Jelle'];
const places = ['harbour', 'lighthouse', 'market', 'chapel', 'mill', 'quarry', 'orchard', 'watchtower', 'ferry', 'library', 'tavern', 'forge', 'bakery', 'graveyard', 'dunes', 'bridge', 'cellar', 'tower', 'garden', 'dock', 'school', 'barn', 'inn', 'river', 'cliffs', 'mine', 'square', 'church', 'stable', 'pier'];
const actions = ['argued about', 'hid', 'found', 'repaired', 'sold', 'stole', 'burned', 'buried', 'painted', 'counted', 'lost', 'carried', 'broke', 'opened', 'guarded', 'searched for', 'traded', 'cleaned', 'polished', 'dropped', 'weighed', 'studied', 'copied', 'wrapped', 'sharpened', 'tied', 'lit', 'blessed', 'cursed', 'sketched'];
const things = ['a lantern', 'the old map', 'a silver key', 'the ledger', 'a fishing net', 'the bell rope', 'a sealed letter', 'the anchor chain', 'a knife', 'the grain sacks', 'a compass', 'the tide table', 'a locket', 'the ship model', 'a crate of apples', 'the church candles', 'a broken oar', 'the harbour flag', 'a bottle of rum', 'the mayor\'s seal'];
const moods = ['angrily', 'quietly', 'in a hurry', 'with a laugh', 'in tears', 'nervously', 'proudly', 'in secret', 'at dawn', 'during the storm', 'after midnight', 'with shaking hands', 'while singing', 'without a word', 'in the rain'];

/** `count` memory texts, seeded: the same every run. */
export function storyTexts(count: number, seed: number): string[] {
  const random = mulberry32(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  return Array.from({ length: count }, (_, i) => {
    const who = pick(names);
    const other = pick(names);
    return `${who} ${pick(actions)} ${pick(things)} at the ${pick(places)} ${pick(moods)}, while ${other} watched from the ${pick(places)}. (${i})`;
  });
}

/** Questions a next scene asks of a character's memory. */
export function storyQueries(count: number, seed: number): string[] {
  const random = mulberry32(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  return Array.from({ length: count }, () => `What happened to ${pick(things)} at the ${pick(places)}? Ask ${pick(names)}.`);
}

function normalise(vector: number[]): number[] {
  const norm = Math.hypot(...vector) || 1;
  return vector.map((value) => value / norm);
}

function trigramHashes(text: string, dimension: number): number[] {
  const out = new Array<number>(dimension).fill(0);
  const padded = ` ${text.toLowerCase().replace(/[^a-z ]+/g, ' ')} `;
  for (let i = 0; i + 3 <= padded.length; i++) {
    let hash = 2166136261;
    for (let k = i; k < i + 3; k++) hash = Math.imul(hash ^ padded.charCodeAt(k), 16777619);
    out[(hash >>> 0) % dimension]! += (hash & 1) === 0 ? 1 : -1;
  }
  return normalise(out);
}

/** The remote-embedder stand-in over `base` (the offline embedder). */
export function createRemoteStandInEmbedder(base: Embedder, dimension = 256): Embedder {
  const gaussian = createVectorSource(977);
  // Rows of unit vectors: a fixed projection from base.dimension to `dimension`.
  const projection = Array.from({ length: dimension }, () => gaussian(base.dimension));
  return {
    name: 'remote-stand-in',
    model: `projection-${dimension}`,
    dimension,
    async embed(texts, signal) {
      const vectors = await base.embed(texts, signal);
      return vectors.map((vector, i) => {
        const trigrams = trigramHashes(texts[i]!, dimension);
        return normalise(projection.map((row, d) => row.reduce((sum, weight, k) => sum + weight * vector[k]!, 0) + 0.35 * trigrams[d]!));
      });
    },
  };
}
