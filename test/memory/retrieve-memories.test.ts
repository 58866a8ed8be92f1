import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction, type Database } from '../../src/db/index.js';
import { getOrCreateCharacter } from '../../src/characters/character-repo.js';
import { insertCharacterMemories, type CharacterMemoryKind } from '../../src/memory/memory-repo.js';
import { rankMemories, retrieveMemories } from '../../src/memory/retrieve-memories.js';
import { hnswIndexName, loadVectorStore } from '../../src/memory/vector-store.js';
import { createTestDatabase, type BackendName } from '../helpers/db.js';
import { insertStory } from '../helpers/fixtures.js';
import { axis } from '../helpers/test-embedder.js';

describe('rankMemories (paper scoring, no database)', () => {
  it('normalises each term over the candidates and adds them with the weights', () => {
    const ranked = rankMemories([
      { id: 'old-relevant', importance: 0.1, similarity: 0.9, hoursSinceAccess: 100 },
      { id: 'fresh-trivial', importance: 0.1, similarity: 0.1, hoursSinceAccess: 0 },
      { id: 'important', importance: 0.9, similarity: 0.1, hoursSinceAccess: 100 },
    ]);
    // Every candidate is best at one term: a three-way tie broken by id.
    expect(ranked.map((r) => r.ranking.score)).toEqual([1, 1, 1]);
    const byRelevance = rankMemories(ranked, { weights: { relevance: 3 } });
    expect(byRelevance[0]!.id).toBe('old-relevant');
    const byRecency = rankMemories(ranked, { weights: { recency: 2 } });
    expect(byRecency[0]!.id).toBe('fresh-trivial');
  });

  it('decays recency by 0.995 per hour since last access', () => {
    const ranked = rankMemories(
      [
        { id: 'a', importance: 0, similarity: 0, hoursSinceAccess: 0 },
        { id: 'b', importance: 0, similarity: 0, hoursSinceAccess: 138.3 },
        { id: 'c', importance: 0, similarity: 0, hoursSinceAccess: 1000 },
      ],
      { weights: { importance: 0, relevance: 0 } },
    );
    // 0.995^138.3 ≈ 0.5: halfway between 1 and 0.995^1000 ≈ 0.0067 after normalisation, nearly.
    expect(ranked.map((r) => r.id)).toEqual(['a', 'b', 'c']);
    expect(ranked[1]!.ranking.recency).toBeCloseTo((0.5 - 0.995 ** 1000) / (1 - 0.995 ** 1000), 2);
  });
});

// 'embedded with an index': an HNSW index of the query's dimension exists, so the nearest
// candidates come from the query that chooses between the index and an exact scan.
describe.each<BackendName | 'embedded with an index'>(['server', 'embedded', 'embedded with an index'])('retrieveMemories on the %s backend', (backend) => {
  let db: Database;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ db, dispose } = await createTestDatabase(backend === 'embedded with an index' ? 'embedded' : backend));
    if (backend === 'embedded with an index') {
      await db.query(`CREATE INDEX "${hnswIndexName('character_memories', 16)}" ON character_memories USING hnsw ((embedding::vector(16)) vector_cosine_ops)`);
    }
    expect((await loadVectorStore(db)).searchesExactly('character_memories', 16)).toBe(backend !== 'embedded with an index');
  });
  afterAll(async () => dispose());

  async function setup() {
    const storyId = await insertStory(db);
    const maya = (await withTransaction(db, {}, (tx) => getOrCreateCharacter(tx, { storyId, name: 'Maya' }))).character.id;
    const tomas = (await withTransaction(db, {}, (tx) => getOrCreateCharacter(tx, { storyId, name: 'Tomas' }))).character.id;
    const add = async (
      characterId: string,
      content: string,
      fields: { importance?: number; embedding?: number[] | null; hoursAgo?: number; kind?: CharacterMemoryKind } = {},
    ) => {
      await insertCharacterMemories(db, [
        {
          storyId,
          characterId,
          sceneId: null,
          kind: fields.kind ?? 'observation',
          content,
          emotionalValence: 0,
          importance: fields.importance ?? 0.5,
          embedding: fields.embedding === undefined ? axis(15) : fields.embedding,
        },
      ]);
      if (fields.hoursAgo !== undefined) {
        await db.query(`UPDATE character_memories SET last_accessed_at = now() - make_interval(hours => $3) WHERE story_id = $1 AND content = $2`, [
          storyId,
          content,
          fields.hoursAgo,
        ]);
      }
    };
    return { storyId, maya, tomas, add };
  }

  it('ranks the most relevant memory first when recency and importance are equal', async () => {
    const { storyId, maya, add } = await setup();
    await add(maya, 'the lighthouse', { embedding: axis(1), hoursAgo: 5 });
    await add(maya, 'the harbour', { embedding: axis(2), hoursAgo: 5 });
    await add(maya, 'the lighthouse at dusk', { embedding: axis(1, 16, { index: 2, weight: 0.5 }), hoursAgo: 5 });
    const memories = await retrieveMemories(db, { storyId, characterId: maya, queryEmbedding: axis(1), limit: 3 });
    expect(memories.map((m) => m.content)).toEqual(['the lighthouse', 'the lighthouse at dusk', 'the harbour']);
    expect(memories[0]!.similarity).toBeCloseTo(1, 5);
  });

  it('ranks the most important memory first when relevance and recency are equal', async () => {
    const { storyId, maya, add } = await setup();
    await add(maya, 'trivial', { importance: 0.1, hoursAgo: 2 });
    await add(maya, 'life changing', { importance: 0.95, hoursAgo: 2 });
    await add(maya, 'notable', { importance: 0.5, hoursAgo: 2 });
    const memories = await retrieveMemories(db, { storyId, characterId: maya, queryEmbedding: axis(15), limit: 3 });
    expect(memories.map((m) => m.content)).toEqual(['life changing', 'notable', 'trivial']);
  });

  it('ranks the most recently accessed memory first when the rest are equal, and touches what it returns', async () => {
    const { storyId, maya, add } = await setup();
    await add(maya, 'last week', { hoursAgo: 24 * 7 });
    await add(maya, 'an hour ago', { hoursAgo: 1 });
    await add(maya, 'yesterday', { hoursAgo: 24 });
    const [first] = await retrieveMemories(db, { storyId, characterId: maya, queryEmbedding: axis(15), limit: 1 });
    expect(first!.content).toBe('an hour ago');
    const { rows } = await db.query<{ content: string; fresh: boolean }>(
      `SELECT content, last_accessed_at > now() - interval '1 minute' AS fresh FROM character_memories WHERE story_id = $1 ORDER BY content`,
      [storyId],
    );
    expect(rows).toEqual([
      { content: 'an hour ago', fresh: true },
      { content: 'last week', fresh: false },
      { content: 'yesterday', fresh: false },
    ]);
    // Now the week-old memory is the least recently used; retrieving it refreshes it too.
    const two = await retrieveMemories(db, { storyId, characterId: maya, queryEmbedding: axis(15), limit: 2 });
    expect(two.map((m) => m.content)).toEqual(['an hour ago', 'yesterday']);
  });

  it('takes as candidates the nearest and the most recently accessed, each once; one with no embedding only as a recent one', async () => {
    // Each count on a story of its own: retrieval touches what it returns, which makes it recent.
    const candidates = async (nearest: number, recent: number) => {
      const { storyId, maya, add } = await setup();
      await add(maya, 'near', { embedding: axis(1), hoursAgo: 50 });
      await add(maya, 'nearly as near', { embedding: axis(1, 16, { index: 2, weight: 0.5 }), hoursAgo: 50 });
      await add(maya, 'far and old', { embedding: axis(3), hoursAgo: 100 });
      await add(maya, 'far and fresh', { embedding: axis(4), hoursAgo: 1 });
      await add(maya, 'never embedded', { embedding: null, hoursAgo: 2 });
      const found = await retrieveMemories(db, { storyId, characterId: maya, queryEmbedding: axis(1), limit: 10, candidates: { nearest, recent } });
      return found;
    };
    expect((await candidates(2, 1)).map((m) => m.content).sort()).toEqual(['far and fresh', 'near', 'nearly as near']);
    const withUnembedded = await candidates(2, 2);
    expect(withUnembedded.map((m) => m.content).sort()).toEqual(['far and fresh', 'near', 'nearly as near', 'never embedded']);
    expect(withUnembedded.find((m) => m.content === 'never embedded')!.similarity).toBe(0);
    // Every memory is among the nearest or the recent ones: each is a candidate once.
    const all = await candidates(5, 5);
    expect(all.map((m) => m.content).sort()).toEqual(['far and fresh', 'far and old', 'near', 'nearly as near', 'never embedded']);
  });

  it("never returns another character's memory, however relevant", async () => {
    const { storyId, maya, tomas, add } = await setup();
    await add(tomas, 'Tomas saw the smuggler', { embedding: axis(3), importance: 1 });
    await add(maya, 'Maya bought bread', { embedding: axis(4), importance: 0.1 });
    const memories = await retrieveMemories(db, { storyId, characterId: maya, queryEmbedding: axis(3), limit: 10 });
    expect(memories.map((m) => m.content)).toEqual(['Maya bought bread']);
  });

  it('filters by kind when asked', async () => {
    const { storyId, maya, add } = await setup();
    await add(maya, 'a private thought', { kind: 'thought' });
    await add(maya, 'an observation', { kind: 'observation' });
    const memories = await retrieveMemories(db, { storyId, characterId: maya, queryEmbedding: axis(15), kinds: ['observation'] });
    expect(memories.map((m) => m.content)).toEqual(['an observation']);
  });
});
