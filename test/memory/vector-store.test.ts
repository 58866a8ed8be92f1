import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database, Queryable } from '../../src/db/index.js';
import { ensureEmbeddingSettings } from '../../src/memory/embedding-settings.js';
import { findSimilarScenes } from '../../src/memory/retrieve-memories.js';
import { embeddingTables, hnswIndexName, indexScopeRows, loadVectorStore, vectorStoreFor, type VectorStore } from '../../src/memory/vector-store.js';
import { createTestDatabase } from '../helpers/db.js';
import { insertStory } from '../helpers/fixtures.js';
import { createTestEmbedder, embedText } from '../helpers/test-embedder.js';
import { writeScene } from './write-scene.js';

const embedder = createTestEmbedder({ dimension: 64 });
const sceneTexts = [
  'The lighthouse keeper polishes the great lamp.',
  'Fishermen haul nets full of silver herring.',
  'A storm tears the sails of the merchant ship.',
  'Children chase gulls along the sandy beach.',
  'The smuggler counts coins in the cellar by candlelight.',
  'Bells ring in the chapel on the hill.',
];

async function storyWithScenes(db: Database): Promise<{ storyId: string; headSceneId: string }> {
  const storyId = await insertStory(db);
  let parentId: string | null = null;
  for (const [i, content] of sceneTexts.entries()) {
    ({ sceneId: parentId } = await writeScene(db, embedder, { storyId, parentId, sceneNumber: i + 1, content }));
  }
  return { storyId, headSceneId: parentId! };
}

/** Root scenes with random embeddings: a long story, as far as search scopes go. */
function randomScenes(db: Database, storyId: string, count: number) {
  return db.query(
    `WITH inserted AS (
       INSERT INTO scenes (story_id, scene_number, content, embedding)
       SELECT $1, 1, 'scene ' || n, (SELECT array_agg(random() - 0.5) FROM generate_series(1, 64) AS d WHERE d > n * 0)::real[]
       FROM generate_series(1, $2::int) AS n
       RETURNING id
     )
     INSERT INTO choices (story_id, scene_id, choice_number, content) SELECT $1, id, 1, 'Go on' FROM inserted`,
    [storyId, count],
  );
}

describe('vector search on both backends', () => {
  const backends: Record<'server' | 'embedded', { db: Database; dispose: () => Promise<void> }> = {} as never;
  beforeAll(async () => {
    backends.server = await createTestDatabase('server');
    backends.embedded = await createTestDatabase('embedded');
    for (const { db } of Object.values(backends)) await ensureEmbeddingSettings(db, embedder);
  });
  afterAll(async () => {
    for (const { dispose } of Object.values(backends)) await dispose();
  });

  it('uses pgvector on PGlite and exact real[] search on the server', async () => {
    expect((await loadVectorStore(backends.embedded.db)).backend).toBe('pgvector');
    expect((await loadVectorStore(backends.server.db)).backend).toBe('exact');
  });

  it('builds no HNSW index on PGlite while every search scope is small, and one for a table once a scope outgrows it', async () => {
    const db = backends.embedded.db;
    const hnswIndexes = async () =>
      (await db.query<{ indexname: string; indexdef: string }>(`SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE '%_embedding_hnsw_%' ORDER BY indexname`)).rows;
    await storyWithScenes(db);
    expect(await hnswIndexes()).toEqual([]);
    // Many small stories are still small scopes; one story at indexScopeRows scenes is not.
    const store = await loadVectorStore(db);
    for (let i = 0; i < 3; i++) await randomScenes(db, await insertStory(db), indexScopeRows / 2);
    await store.ensureIndexes(db, 64);
    expect(await hnswIndexes()).toEqual([]);
    const large = await insertStory(db);
    await randomScenes(db, large, indexScopeRows - 1);
    await store.ensureIndexes(db, 64);
    expect(await hnswIndexes()).toEqual([]);
    await randomScenes(db, large, 1);
    await store.ensureIndexes(db, 64);
    const built = await hnswIndexes();
    expect(built.map((r) => r.indexname)).toEqual([hnswIndexName('scenes', 64)]);
    expect(built[0]!.indexdef).toMatch(/USING hnsw \(\(\(?embedding\)?::vector\(64\)\) vector_cosine_ops\)/);
    expect(embeddingTables).toContain('scenes');
  });

  it('searches a table without an HNSW index in a query of one plan, and turns to both plans once ensureIndexes builds one', async () => {
    const { db, dispose } = await createTestDatabase('embedded');
    try {
      await ensureEmbeddingSettings(db, embedder);
      const store = await loadVectorStore(db);
      const { storyId } = await storyWithScenes(db);
      const nearest = (of: VectorStore, table: 'scenes' | 'memories') =>
        of.nearestSql({
          table,
          from: `${table} x`,
          column: 'x.embedding',
          select: 'x.id',
          where: 'x.story_id = $1',
          params: [storyId],
          queryEmbedding: embedText('a storm tore the merchant sails', 64),
          dimension: 64,
          limit: 3,
        });
      // The top scene and the similarities in order (the test embedder's other scenes tie at 0).
      const ranked = async (query: { sql: string; params: unknown[] }) => {
        const { rows } = await db.query<{ id: string; similarity: number }>(query.sql, query.params);
        return { top: rows[0]?.id, similarities: rows.map((row) => Number(row.similarity).toFixed(6)) };
      };
      const bothPlans = /EXISTS \(SELECT 1 FROM scenes x .* OFFSET 5000\)/s;

      const onePlan = nearest(store, 'scenes');
      expect(onePlan.sql).not.toMatch(/EXISTS|UNION/);
      // The same rows as the query that asks for the scope's size first.
      const exact = await ranked(onePlan);
      expect(exact.similarities).toHaveLength(3);
      expect(Number(exact.similarities[0])).toBeGreaterThan(Number(exact.similarities[1]));
      expect(await ranked(nearest(vectorStoreFor('pgvector'), 'scenes'))).toEqual(exact);

      await randomScenes(db, await insertStory(db), indexScopeRows);
      await store.ensureIndexes(db, 64);
      expect(nearest(store, 'scenes').sql).toMatch(bothPlans);
      expect(nearest(store, 'memories').sql).not.toMatch(/EXISTS|UNION/);
      expect(await ranked(nearest(store, 'scenes'))).toEqual(exact);
      // A store loaded afresh (another caller's cache) reads the indexes from the catalog.
      const elsewhere = await loadVectorStore({ query: (sql: string, params?: unknown[]) => db.query(sql, params) } as Queryable);
      expect(elsewhere).not.toBe(store);
      expect(nearest(elsewhere, 'scenes').sql).toMatch(bothPlans);
      expect(nearest(elsewhere, 'memories').sql).not.toMatch(/EXISTS|UNION/);
    } finally {
      await dispose();
    }
  });

  it('serves the nearest-scene query of a long story from the HNSW index on PGlite', async () => {
    const db = backends.embedded.db;
    const storyId = await insertStory(db);
    // A long story (root scenes suffice for the planner): 1,500 random embeddings.
    await db.query(
      `WITH inserted AS (
         INSERT INTO scenes (story_id, scene_number, content, embedding)
         SELECT $1, 1, 'scene ' || n, (SELECT array_agg(random() - 0.5) FROM generate_series(1, 64) AS d WHERE d > n * 0)::real[]
         FROM generate_series(1, 1500) AS n
         RETURNING id
       )
       INSERT INTO choices (story_id, scene_id, choice_number, content) SELECT $1, id, 1, 'Go on' FROM inserted`,
      [storyId],
    );
    await db.query('ANALYZE scenes');
    const store = await loadVectorStore(db);
    const query = store.nearestSql({
      table: 'scenes',
      from: 'scenes s',
      column: 's.embedding',
      select: 's.id',
      where: 's.story_id = $1',
      params: [storyId],
      queryEmbedding: embedText('storm', 64),
      dimension: 64,
      limit: 5,
    });
    // At 1,500 rows the planner weighs the index against the wider search list we set
    // (ef_search 100) and may rightly sort instead; at pgvector's default list it takes the
    // index, which shows the query's expression matches it.
    await db.query('SET hnsw.ef_search = 40');
    const { rows } = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${query.sql}`, query.params);
    await db.query('SET hnsw.ef_search = 100');
    expect(rows.map((r) => r['QUERY PLAN']).join('\n')).toContain(`Index Scan using ${hnswIndexName('scenes', 64)}`);
    const { rows: found } = await db.query(query.sql, query.params);
    expect(found).toHaveLength(5);
  });

  it('gives the same top scene for the same query on both backends', async () => {
    const tops: string[] = [];
    for (const { db } of [backends.server, backends.embedded]) {
      const { storyId, headSceneId } = await storyWithScenes(db);
      const similar = await findSimilarScenes(db, {
        storyId,
        headSceneId,
        queryEmbedding: embedText('a storm tore the merchant sails', 64),
        beforeSceneNumber: 100,
        limit: 3,
      });
      expect(similar).toHaveLength(3);
      tops.push(similar[0]!.content);
      expect(similar[0]!.similarity).toBeGreaterThan(similar[1]!.similarity);
    }
    expect(tops[0]).toBe('A storm tears the sails of the merchant ship.');
    expect(tops[1]).toBe(tops[0]);
  });

  it('only finds scenes on the head path, before the given scene number', async () => {
    const db = backends.server.db;
    const { storyId, headSceneId } = await storyWithScenes(db);
    const branch = await writeScene(db, embedder, { storyId, parentId: null, sceneNumber: 1, content: 'A storm, a storm, sails torn by the storm.' });
    expect(branch.sceneId).toBeDefined();
    const similar = await findSimilarScenes(db, { storyId, headSceneId, queryEmbedding: embedText('storm sails', 64), beforeSceneNumber: 3, limit: 5 });
    expect(similar.map((s) => s.sceneNumber).sort()).toEqual([1, 2]);
    expect(similar.every((s) => !s.content.includes('storm'))).toBe(true);
  });
});
