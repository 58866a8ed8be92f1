/**
 * Memory retrieval at 1k, 10k and 100k memories of one character in one story:
 *  - pgvector HNSW on embedded PGlite, against an exact scan of the same PGlite data
 *    (enable_indexscan = off) in the same run, and recall@10 of HNSW against exact top-10
 *    computed in JS over the very vectors inserted;
 *  - exact search (real[] columns, no pgvector) on server PostgreSQL.
 * Two queries are timed: the plain nearest-10 query the vector store writes, and the
 * engine's retrieveMemories (200 nearest + 50 most recent, ranked, top 10, no touch).
 *
 * Data: seeded random unit vectors of dimension 100 (the offline embedder's dimension), not
 * embedded text: uniformly spread points have no clusters, the hard case for HNSW, so recall
 * here is a lower bound. Rows are bulk-inserted first and the HNSW index built afterwards
 * (FACTS.md: inserting into an indexed PGlite table is several times slower); the index is
 * dropped and rebuilt between sizes for the same reason. Before building 100k, the build time
 * is projected from 10k; if it exceeds BENCH_HNSW_BUILD_BUDGET_S (360 s) 100k is skipped on
 * PGlite and the report says so.
 *
 *   npx tsx bench/retrieval.ts
 */
import { randomUUID } from 'node:crypto';
import type { Database } from '../src/db/index.js';
import type { Embedder } from '../src/memory/embedder.js';
import { ensureEmbeddingSettings } from '../src/memory/embedding-settings.js';
import { retrieveMemories } from '../src/memory/retrieve-memories.js';
import { hnswIndexName, loadVectorStore } from '../src/memory/vector-store.js';
import { summarise, writeResult } from './lib.js';
import { envNumber, round, sized } from './support/bench-options.js';
import { openBenchEmbeddedDatabase, openBenchServerDatabase } from './support/bench-databases.js';
import { createVectorSource } from './support/random-vectors.js';

const dimension = 100;
const sizes = sized([1_000, 10_000, 100_000], [1_000, 10_000]);
const queryCount = sized(50, 15);
const buildBudgetSeconds = envNumber('BENCH_HNSW_BUILD_BUDGET_S', 360);
const insertBatch = 2_000;

/** Records the embedder's settings and lets ensureEmbeddingSettings build the indexes; never embeds. */
const randomVectorEmbedder: Embedder = {
  name: 'bench-random',
  model: `unit-vectors-${dimension}`,
  dimension,
  async embed() {
    throw new Error('the retrieval benchmark inserts vectors directly');
  },
};

/** The vectors stored so far (float32, as the database keeps them) and their row ids. */
interface Corpus {
  ids: string[];
  vectors: Float32Array;
}

function growCorpus(corpus: Corpus, target: number, nextVector: (d: number) => number[]): Corpus {
  const vectors = new Float32Array(target * dimension);
  vectors.set(corpus.vectors);
  const ids = [...corpus.ids];
  for (let i = corpus.ids.length; i < target; i++) {
    vectors.set(nextVector(dimension), i * dimension);
    ids.push(randomUUID());
  }
  return { ids, vectors };
}

function exactTop10(corpus: Corpus, query: number[]): string[] {
  const best: { id: string; score: number }[] = [];
  for (let row = 0; row < corpus.ids.length; row++) {
    let score = 0;
    const offset = row * dimension;
    for (let d = 0; d < dimension; d++) score += corpus.vectors[offset + d]! * query[d]!;
    if (best.length < 10 || score > best[best.length - 1]!.score) {
      best.push({ id: corpus.ids[row]!, score });
      best.sort((a, b) => b.score - a.score);
      if (best.length > 10) best.pop();
    }
  }
  return best.map((entry) => entry.id);
}

async function insertRows(db: Database, storyId: string, characterId: string, corpus: Corpus, from: number, to: number): Promise<void> {
  for (let start = from; start < to; start += insertBatch) {
    const end = Math.min(to, start + insertBatch);
    const rows = Array.from({ length: end - start }, (_, k) => start + k);
    await db.query(
      `INSERT INTO character_memories (story_id, id, character_id, kind, content, importance, embedding, last_accessed_at, created_at)
       SELECT $1, u.id, $2, 'observation', u.content, u.importance, u.embedding_text::real[],
              now() - u.age_hours * interval '1 hour', now() - u.age_hours * interval '1 hour'
       FROM unnest($3::uuid[], $4::text[], $5::real[], $6::real[], $7::text[]) AS u(id, content, importance, age_hours, embedding_text)`,
      [
        storyId,
        characterId,
        rows.map((i) => corpus.ids[i]!),
        rows.map((i) => `Memory ${i}: the tide, the boats and what Mara said about them.`),
        rows.map((i) => ((i * 7919) % 100) / 100),
        rows.map((i) => (i * 104729) % 2000),
        rows.map((i) => `{${Array.from(corpus.vectors.subarray(i * dimension, (i + 1) * dimension)).join(',')}}`),
      ],
    );
  }
}

async function createStoryAndCharacter(db: Database): Promise<{ storyId: string; characterId: string }> {
  const { rows } = await db.query<{ id: string }>(`INSERT INTO stories (title, setting) VALUES ('Retrieval', 'A harbour.') RETURNING id`);
  const storyId = rows[0]!.id;
  const character = await db.query<{ id: string }>(`INSERT INTO characters (story_id, name) VALUES ($1, 'Mara Vell') RETURNING id`, [storyId]);
  return { storyId, characterId: character.rows[0]!.id };
}

interface QueryFigures {
  top10Ms: ReturnType<typeof summarise>;
  retrieveMemoriesMs: ReturnType<typeof summarise>;
  recallAt10: number;
}

async function measureQueries(db: Database, scope: { storyId: string; characterId: string }, corpus: Corpus, queries: number[][]): Promise<QueryFigures> {
  const store = await loadVectorStore(db);
  // Untimed first passes: the first queries after an index build or a SET pay for cold pages and plans.
  for (const query of queries.slice(0, 3)) {
    await retrieveMemories(db, { storyId: scope.storyId, characterId: scope.characterId, queryEmbedding: query, limit: 10, touch: false });
  }
  const top10: number[] = [];
  const retrieve: number[] = [];
  let hits = 0;
  for (const query of queries) {
    const nearest = store.nearestSql({
      from: 'character_memories m',
      column: 'm.embedding',
      select: 'm.id',
      where: 'm.story_id = $1 AND m.character_id = $2',
      params: [scope.storyId, scope.characterId],
      queryEmbedding: query,
      dimension,
      limit: 10,
    });
    let started = performance.now();
    const { rows } = await db.query<{ id: string }>(nearest.sql, nearest.params);
    top10.push(performance.now() - started);
    const exact = new Set(exactTop10(corpus, query));
    hits += rows.filter((row) => exact.has(row.id)).length;
    started = performance.now();
    await retrieveMemories(db, { storyId: scope.storyId, characterId: scope.characterId, queryEmbedding: query, limit: 10, touch: false });
    retrieve.push(performance.now() - started);
  }
  return { top10Ms: summarise(top10), retrieveMemoriesMs: summarise(retrieve), recallAt10: round(hits / (queries.length * 10), 3) };
}

async function measureEmbedded(queries: number[][]) {
  const results = [];
  const skipped: string[] = [];
  const backend = await openBenchEmbeddedDatabase();
  const db = backend.db;
  try {
    const scope = await createStoryAndCharacter(db);
    const nextVector = createVectorSource(42);
    let corpus: Corpus = { ids: [], vectors: new Float32Array(0) };
    let previousBuildSeconds: { size: number; seconds: number } | undefined;
    for (const size of sizes) {
      if (previousBuildSeconds) {
        // HNSW build grows a little faster than linearly (n log n); project generously.
        const projected = previousBuildSeconds.seconds * (size / previousBuildSeconds.size) * 1.3;
        if (projected > buildBudgetSeconds) {
          const note = `PGlite ${size}: skipped, projected HNSW build ${Math.round(projected)} s from ${previousBuildSeconds.size} rows exceeds the ${buildBudgetSeconds} s budget`;
          console.log(`  ${note}`);
          skipped.push(note);
          break;
        }
      }
      await db.query(`DROP INDEX IF EXISTS "${hnswIndexName('character_memories', dimension)}"`);
      const from = corpus.ids.length;
      corpus = growCorpus(corpus, size, nextVector);
      let started = performance.now();
      await insertRows(db, scope.storyId, scope.characterId, corpus, from, size);
      const insertSeconds = (performance.now() - started) / 1000;
      // Room for the whole graph in memory, or the build slows down sharply once it spills.
      await db.query(`SET maintenance_work_mem = '512MB'`);
      started = performance.now();
      if (from === 0) await ensureEmbeddingSettings(db, randomVectorEmbedder);
      else await (await loadVectorStore(db)).ensureIndexes(db, dimension);
      const buildSeconds = (performance.now() - started) / 1000;
      previousBuildSeconds = { size, seconds: buildSeconds };
      await db.query('ANALYZE character_memories');

      const hnsw = await measureQueries(db, scope, corpus, queries);
      await db.query('SET hnsw.ef_search = 100');
      const wideSearch = await measureQueries(db, scope, corpus, queries.slice(0, Math.ceil(queries.length / 2)));
      await db.query('RESET hnsw.ef_search');
      await db.query('SET enable_indexscan = off');
      const exactScan = await measureQueries(db, scope, corpus, queries.slice(0, Math.ceil(queries.length / 2)));
      await db.query('RESET enable_indexscan');
      const row = {
        size,
        insertSecondsForNewRows: round(insertSeconds, 1),
        hnswBuildSeconds: round(buildSeconds, 1),
        hnsw,
        hnswEfSearch100: wideSearch,
        exactScanSamePglite: exactScan,
        top10P50VsExactScan: round(hnsw.top10Ms.p50 / exactScan.top10Ms.p50, 3),
      };
      results.push(row);
      console.log(
        `  PGlite ${String(size).padStart(6)}: insert ${row.insertSecondsForNewRows} s, HNSW build ${row.hnswBuildSeconds} s | top-10 p50 ${hnsw.top10Ms.p50} ms p95 ${hnsw.top10Ms.p95} ms (exact scan ${exactScan.top10Ms.p50} ms) | retrieveMemories p50 ${hnsw.retrieveMemoriesMs.p50} ms p95 ${hnsw.retrieveMemoriesMs.p95} ms | recall@10 ${hnsw.recallAt10} (ef_search 100: ${wideSearch.recallAt10}; exact scan: ${exactScan.recallAt10})`,
      );
    }
  } finally {
    await backend.dispose();
  }
  return { results, skipped };
}

async function measureServer(queries: number[][]) {
  const results = [];
  const backend = await openBenchServerDatabase({ poolSize: 2 });
  const db = backend.db;
  try {
    const scope = await createStoryAndCharacter(db);
    await ensureEmbeddingSettings(db, randomVectorEmbedder);
    const nextVector = createVectorSource(42);
    let corpus: Corpus = { ids: [], vectors: new Float32Array(0) };
    for (const size of sizes) {
      const from = corpus.ids.length;
      corpus = growCorpus(corpus, size, nextVector);
      const started = performance.now();
      await insertRows(db, scope.storyId, scope.characterId, corpus, from, size);
      const insertSeconds = (performance.now() - started) / 1000;
      await db.query('ANALYZE character_memories');
      // Exact search reads every row of the character per query: fewer queries at 100k.
      const exact = await measureQueries(db, scope, corpus, queries.slice(0, size >= 100_000 ? sized(10, 4) : queries.length));
      results.push({ size, insertSecondsForNewRows: round(insertSeconds, 1), exact });
      console.log(
        `  server ${String(size).padStart(6)}: insert ${round(insertSeconds, 1)} s | top-10 p50 ${exact.top10Ms.p50} ms p95 ${exact.top10Ms.p95} ms | retrieveMemories p50 ${exact.retrieveMemoriesMs.p50} ms p95 ${exact.retrieveMemoriesMs.p95} ms | recall@10 ${exact.recallAt10}`,
      );
    }
  } finally {
    await backend.dispose();
  }
  return results;
}

async function main(): Promise<void> {
  console.log(`retrieval: top-10 over ${sizes.join(', ')} memories of one character, ${queryCount} random queries, random unit vectors of dimension ${dimension}`);
  const nextQuery = createVectorSource(4242);
  const queries = Array.from({ length: queryCount }, () => nextQuery(dimension));
  const embedded = await measureEmbedded(queries);
  const server = await measureServer(queries);
  writeResult('retrieval', {
    benchmark: 'retrieval',
    dimension,
    queryCount,
    vectors: 'seeded random unit vectors (not embedded text); uniformly spread points are the hard case for HNSW, so recall is a lower bound',
    embedded: embedded.results,
    server,
    skipped: embedded.skipped,
    method:
      'top-10: the vector store nearestSql with limit 10, scoped to the story and character. retrieveMemories: the engine call (200 nearest + 50 recent, ranked, limit 10, touch false). recall@10: |HNSW top-10 ∩ exact top-10| / 10, exact computed in JS over the inserted float32 vectors. Exact scan on PGlite: the same query with enable_indexscan = off. HNSW at the engine defaults (m 16, ef_construction 64, ef_search 40, iterative_scan relaxed_order), and with ef_search 100 on half the queries.',
  });
}

await main();
