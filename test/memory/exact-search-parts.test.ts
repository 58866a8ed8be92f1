import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { loadVectorStore, vectorStoreFor } from '../../src/memory/vector-store.js';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { insertStory } from '../helpers/fixtures.js';

/** Seeded unit vectors, so a failure is reproducible. */
function unitVectors(count: number, dimension: number, seed: number): number[][] {
  let state = seed >>> 0;
  const next = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 4294967296) - 0.5;
  return Array.from({ length: count }, () => {
    const vector = Array.from({ length: dimension }, next);
    const norm = Math.hypot(...vector);
    return vector.map((value) => value / norm);
  });
}

describe('exact search without pgvector, over cube parts (migration 0014)', () => {
  let server: TestServerDatabase;
  let db: Database;
  beforeAll(async () => {
    server = await createServerTestDatabase();
    db = server.db;
  });
  afterAll(async () => server.drop());

  it('is the store a migrated server without pgvector uses', async () => {
    const { rows } = await db.query<{ value: unknown }>(`SELECT value FROM settings WHERE key = 'exact_search'`);
    expect(rows[0]?.value).toBe('cube_parts');
    const store = await loadVectorStore(db);
    expect(store.backend).toBe('exact');
    expect(store.similaritySql('m.embedding', '$1', 100)).toContain('embedding_parts');
  });

  it.each([100, 256])('ranks and scores %i-dimensional memories as the per-row scan does', async (dimension) => {
    const storyId = await insertStory(db);
    const { rows: made } = await db.query<{ id: string }>(`INSERT INTO characters (story_id, name) VALUES ($1, 'Mara Vell') RETURNING id`, [storyId]);
    const characterId = made[0]!.id;
    const vectors = unitVectors(400, dimension, dimension);
    await db.query(
      `INSERT INTO character_memories (story_id, character_id, kind, content, embedding)
       SELECT $1, $2, 'observation', 'memory ' || n, v::real[] FROM unnest($3::text[]) WITH ORDINALITY AS u(v, n)`,
      [storyId, characterId, vectors.map((v) => `{${v.join(',')}}`)],
    );
    const query = (store: ReturnType<typeof vectorStoreFor>, queryEmbedding: number[]) =>
      store.nearestSql({
        from: 'character_memories m',
        column: 'm.embedding',
        select: 'm.content',
        where: 'm.story_id = $1 AND m.character_id = $2',
        params: [storyId, characterId],
        queryEmbedding,
        dimension,
        limit: 10,
      });
    for (const queryEmbedding of unitVectors(5, dimension, 7 * dimension)) {
      const parts = query(vectorStoreFor('exact', 'cube_parts'), queryEmbedding);
      const unnest = query(vectorStoreFor('exact', 'unnest'), queryEmbedding);
      const [a, b] = await Promise.all([db.query<{ content: string; similarity: number }>(parts.sql, parts.params), db.query<{ content: string; similarity: number }>(unnest.sql, unnest.params)]);
      expect(a.rows.map((row) => row.content)).toEqual(b.rows.map((row) => row.content));
      a.rows.forEach((row, i) => expect(Number(row.similarity)).toBeCloseTo(Number(b.rows[i]!.similarity), 5));
    }
  });
});
