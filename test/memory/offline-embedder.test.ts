import { generateUnrelatedMemories } from '../helpers/unrelated-memories.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Embedder } from '../../src/memory/embedder.js';
import { createOfflineEmbedder, stemCandidates, tokenise } from '../../src/memory/embedders/offline.js';
import { loadOfflineVocabulary } from '../../src/memory/embedders/offline-vocabulary.js';

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  return dot; // both are unit vectors
}

function norm(vector: number[]): number {
  return Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));
}

/** Small seeded PRNG so the distractor memories are the same on every run. */
describe('offline embedder', () => {
  let embedder: Embedder;
  beforeAll(async () => {
    embedder = await createOfflineEmbedder();
  });

  it('describes itself as a 100-dimensional offline model', () => {
    expect(embedder.name).toBe('offline');
    expect(embedder.model).toBe('wink-sg-100d-compact');
    expect(embedder.dimension).toBe(100);
  });

  it('ranks the sword memory first for "unsheathed a blade" among 1,000 unrelated memories', async () => {
    const planted = 'He drew his sword at the gate';
    const memories = [...generateUnrelatedMemories(1000)];
    memories.splice(617, 0, planted);
    const [query] = await embedder.embed(['unsheathed a blade']);
    const vectors = await embedder.embed(memories);
    const ranked = memories
      .map((memory, index) => ({ memory, score: cosine(query!, vectors[index]!) }))
      .sort((a, b) => b.score - a.score);
    expect(ranked[0]!.memory).toBe(planted);
  });

  it.each([
    ['The cat slept on the rug.', 'A kitten napped on the carpet.', 'The ship left the harbour at dawn.'],
    ['It rained all night.', 'A storm soaked the village until morning.', 'He counted coins in the shop.'],
    ['She wrote a letter to her brother.', 'A message arrived for her sibling.', 'The horses grazed in the field.'],
    ['The doctor treated his fever.', 'A physician cared for the sick man.', 'They sailed north along the coast.'],
    ['The king was crowned today.', 'A new monarch took the throne.', 'She baked a cake for supper.'],
  ])('scores "%s" closer to a paraphrase than to an unrelated sentence', async (anchor, related, unrelated) => {
    const [a, r, u] = await embedder.embed([anchor, related, unrelated]);
    expect(cosine(a!, r!)).toBeGreaterThan(cosine(a!, u!) + 0.1);
  });

  it('returns identical vectors for identical text, from any embedder instance', async () => {
    const other = await createOfflineEmbedder();
    const text = 'The lantern flickered in the lighthouse.';
    const [first, second] = await embedder.embed([text, text]);
    const [third] = await other.embed([text]);
    expect(second).toEqual(first);
    expect(third).toEqual(first);
  });

  it('returns unit vectors of dimension 100', async () => {
    const vectors = await embedder.embed(['A short one.', 'Hanna’s unsheathed zorvathian thoughts, repeatedly.', 'the of and']);
    for (const vector of vectors) {
      expect(vector).toHaveLength(100);
      expect(norm(vector)).toBeCloseTo(1, 6);
    }
  });

  it('matches a name to itself rather than to another name in the same sentence shape', async () => {
    const [query, hanna, marek] = await embedder.embed([
      'What did Hanna say?',
      'Hanna argued with the baker.',
      'Marek argued with the baker.',
    ]);
    expect(cosine(query!, hanna!)).toBeGreaterThan(cosine(query!, marek!));
  });

  it('gives an invented word a stable vector that matches itself', async () => {
    const [query, same, other] = await embedder.embed(['Zorvath', 'Zorvath returned.', 'Quilleran returned.']);
    expect(cosine(query!, same!)).toBeGreaterThan(cosine(query!, other!) + 0.3);
  });

  it('returns finite, non-zero vectors for empty text and text without words', async () => {
    for (const vector of await embedder.embed(['', '   ', '!!!', '42'])) {
      expect(vector.every(Number.isFinite)).toBe(true);
      expect(norm(vector)).toBeCloseTo(1, 6);
    }
  });

  it('tokenises to lowercase words and drops possessives and contractions', () => {
    expect(tokenise("Hanna's café didn't open; the soldiers' camp did.")).toEqual([
      'hanna', 'cafe', 'did', 'open', 'the', 'soldiers', 'camp', 'did',
    ]);
  });

  it('offers known stems for inflections missing from the vocabulary', () => {
    expect(stemCandidates('unsheathed')).toEqual(expect.arrayContaining(['unsheathe', 'unsheath', 'sheathed']));
    expect(stemCandidates('stopped')).toContain('stop');
    expect(stemCandidates('carries')).toContain('carry');
  });

  it('loads the vocabulary once per process', async () => {
    expect(await loadOfflineVocabulary()).toBe(await loadOfflineVocabulary());
  });

  it('rejects with the missing path when the data directory is absent', async () => {
    await expect(createOfflineEmbedder({ dataDir: '/nonexistent/offline-embeddings' })).rejects.toThrow(
      /nonexistent\/offline-embeddings/,
    );
  });

  it('stops embedding when the signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(embedder.embed(['text'], controller.signal)).rejects.toThrow();
  });
});
