/**
 * Memory retrieval at 1k, 10k and 100k memories of one character in one story, on realistic
 * vectors: embeddings of generated story text (bench/support/story-text-vectors.ts) from the
 * offline embedder and from a remote-embedder stand-in (dense, 256 dimensions), and seeded
 * random unit vectors as the hard case (no clusters; recall there is a lower bound).
 *  - embedded PGlite with pgvector: the vector store's own query (scopes of at most
 *    exactScanMaxRows rows scored exactly, larger ones through HNSW) at the engine's
 *    ef_search, and at 40 and 200; against an exact scan of the same data (enable_indexscan =
 *    off) in the same run; recall@10 against exact top-10 computed in JS over the inserted
 *    float32 vectors;
 *  - server PostgreSQL without pgvector: exact search over the cube parts of migrations/0014,
 *    against the per-row unnest scan it replaced, measured in the same run.
 * Two queries are timed: the plain nearest-10 query the vector store writes, and the engine's
 * retrieveMemories (200 nearest + 50 most recent, ranked, top 10, no touch).
 *
 * Rows are bulk-inserted first and the HNSW index built afterwards (FACTS.md: inserting into an
 * indexed PGlite table is several times slower); the index is dropped and rebuilt between
 * sizes. Before building the next size, the build time is projected from the last; if it
 * exceeds BENCH_HNSW_BUILD_BUDGET_S (300 s) that size is skipped and the report says so.
 *
 *   npx tsx bench/retrieval.ts   (BENCH_RETRIEVAL_SETS=offline-text,remote-stand-in,random;
 *                                 remote-stand-in-768 and remote-stand-in-1536 run only when named;
 *                                 BENCH_RETRIEVAL_REMOTE_MAX=10000: largest remote stand-in size;
 *                                 BENCH_RETRIEVAL_BACKENDS=server or embedded: one backend only,
 *                                 written to retrieval-<backend>.json, not the report's retrieval.json)
 */
import { randomUUID } from 'node:crypto';
import type { Database } from '../src/db/index.js';
import type { Embedder } from '../src/memory/embedder.js';
import { ensureEmbeddingSettings } from '../src/memory/embedding-settings.js';
import { retrieveMemories } from '../src/memory/retrieve-memories.js';
import { exactScanMaxRows, hnswIndexName, loadVectorStore, vectorStoreFor, type VectorStore } from '../src/memory/vector-store.js';
import { summarise, writeResult } from './lib.js';
import { envNumber, round, sized } from './support/bench-options.js';
import { openBenchEmbeddedDatabase, openBenchServerDatabase } from './support/bench-databases.js';
import { loadOfflineEmbedder } from './support/bench-engine.js';
import { createVectorSource } from './support/random-vectors.js';
import { createRemoteStandInEmbedder, storyQueries, storyTexts } from './support/story-text-vectors.js';

const queryCount = sized(50, 15);
const buildBudgetSeconds = envNumber('BENCH_HNSW_BUILD_BUDGET_S', 300);
const insertBatch = 2_000;
const remoteMax = envNumber('BENCH_RETRIEVAL_REMOTE_MAX', 10_000);

interface VectorSet {
  name: string;
  describe: string;
  dimension: number;
  sizes: number[];
  /** The first `count` corpus vectors (a prefix of the same sequence whatever the count). */
  vectors(count: number): Promise<number[][]>;
  queries: () => Promise<number[][]>;
  /** Run only when BENCH_RETRIEVAL_SETS names it (the dimensions of real remote embedders). */
  optIn?: boolean;
}

async function vectorSets(): Promise<VectorSet[]> {
  const offline = await loadOfflineEmbedder();
  const remote = createRemoteStandInEmbedder(offline);
  const largest = sized(100_000, 10_000);
  const texts = storyTexts(largest, 7);
  const textSet = (name: string, describe: string, embedder: Embedder, max: number, optIn = false): VectorSet => ({
    name,
    optIn,
    describe,
    dimension: embedder.dimension,
    sizes: [1_000, 10_000, 100_000].filter((size) => size <= Math.min(max, largest)),
    vectors: (count) => embedder.embed(texts.slice(0, count)),
    queries: () => embedder.embed(storyQueries(queryCount, 11)),
  });
  const random = (dimension: number) => {
    const next = createVectorSource(42);
    const made: number[][] = [];
    return async (count: number) => {
      while (made.length < count) made.push(next(dimension));
      return made.slice(0, count);
    };
  };
  const sets: VectorSet[] = [
    textSet('offline-text', 'offline embedder over generated story text (100 dimensions)', offline, largest),
    textSet('remote-stand-in', 'remote-embedder stand-in over the same text (dense, 256 dimensions)', remote, remoteMax),
    ...[768, 1536].map((dimension) =>
      textSet(`remote-stand-in-${dimension}`, `remote-embedder stand-in over the same text (dense, ${dimension} dimensions)`, createRemoteStandInEmbedder(offline, dimension), remoteMax, true),
    ),
    {
      name: 'random',
      describe: 'seeded random unit vectors (100 dimensions): no clusters, the hard case for HNSW',
      dimension: 100,
      sizes: [1_000, 10_000],
      vectors: random(100),
      queries: async () => {
        const next = createVectorSource(4242);
        return Array.from({ length: queryCount }, () => next(100));
      },
    },
  ];
  const only = (process.env['BENCH_RETRIEVAL_SETS'] ?? '').split(',').map((name) => name.trim()).filter(Boolean);
  return only.length > 0 ? sets.filter((set) => only.includes(set.name)) : sets.filter((set) => !set.optIn);
}

/** Records the set's settings and lets ensureEmbeddingSettings build the indexes; never embeds. */
function recordingEmbedder(set: VectorSet): Embedder {
  return {
    name: `bench-${set.name}`,
    model: `${set.name}-${set.dimension}`,
    dimension: set.dimension,
    async embed() {
      throw new Error('the retrieval benchmark inserts vectors directly');
    },
  };
}

/** The vectors stored so far (float32, as the database keeps them) and their row ids. */
interface Corpus {
  ids: string[];
  vectors: Float32Array;
  dimension: number;
}

async function growCorpus(corpus: Corpus, target: number, set: VectorSet): Promise<Corpus> {
  const dimension = set.dimension;
  const vectors = new Float32Array(target * dimension);
  vectors.set(corpus.vectors);
  const ids = [...corpus.ids];
  const all = await set.vectors(target);
  for (let i = corpus.ids.length; i < target; i++) {
    vectors.set(all[i]!, i * dimension);
    ids.push(randomUUID());
  }
  return { ids, vectors, dimension };
}

function exactTop10(corpus: Corpus, query: number[]): string[] {
  const dimension = corpus.dimension;
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
  const dimension = corpus.dimension;
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
  retrieveMemoriesMs?: ReturnType<typeof summarise>;
  recallAt10: number;
}

async function measureQueries(
  db: Database,
  scope: { storyId: string; characterId: string },
  corpus: Corpus,
  queries: number[][],
  options: {
    store?: VectorStore;
    engine?: boolean;
    /**
     * Put before the query text, so that it is prepared (and planned) afresh: a prepared
     * statement may keep a generic plan made before a SET enable_indexscan.
     */
    textPrefix?: string;
  } = {},
): Promise<QueryFigures> {
  const store = options.store ?? (await loadVectorStore(db));
  const engine = options.engine ?? true;
  // Untimed first passes: the first queries after an index build or a SET pay for cold pages and plans.
  for (const query of queries.slice(0, 3)) {
    if (engine) await retrieveMemories(db, { storyId: scope.storyId, characterId: scope.characterId, queryEmbedding: query, limit: 10, touch: false });
  }
  const top10: number[] = [];
  const retrieve: number[] = [];
  let hits = 0;
  for (const query of queries) {
    const nearest = store.nearestSql({
      table: 'character_memories',
      from: 'character_memories m',
      column: 'm.embedding',
      select: 'm.id',
      where: 'm.story_id = $1 AND m.character_id = $2',
      params: [scope.storyId, scope.characterId],
      queryEmbedding: query,
      dimension: corpus.dimension,
      limit: 10,
    });
    let started = performance.now();
    const { rows } = await db.query<{ id: string }>(`${options.textPrefix ?? ''}${nearest.sql}`, nearest.params);
    top10.push(performance.now() - started);
    const exact = new Set(exactTop10(corpus, query));
    hits += rows.filter((row) => exact.has(row.id)).length;
    if (!engine) continue;
    started = performance.now();
    await retrieveMemories(db, { storyId: scope.storyId, characterId: scope.characterId, queryEmbedding: query, limit: 10, touch: false });
    retrieve.push(performance.now() - started);
  }
  return { top10Ms: summarise(top10), ...(engine ? { retrieveMemoriesMs: summarise(retrieve) } : {}), recallAt10: round(hits / (queries.length * 10), 3) };
}

async function measureEmbedded(set: VectorSet, queries: number[][]) {
  const results = [];
  const skipped: string[] = [];
  const backend = await openBenchEmbeddedDatabase();
  const db = backend.db;
  const dimension = set.dimension;
  try {
    const scope = await createStoryAndCharacter(db);
    let corpus: Corpus = { ids: [], vectors: new Float32Array(0), dimension };
    let previousBuildSeconds: { size: number; seconds: number } | undefined;
    for (const size of set.sizes) {
      if (previousBuildSeconds) {
        // HNSW build grows a little faster than linearly (n log n); project generously.
        const projected = previousBuildSeconds.seconds * (size / previousBuildSeconds.size) * 1.3;
        if (projected > buildBudgetSeconds) {
          const note = `PGlite ${set.name} ${size}: skipped, projected HNSW build ${Math.round(projected)} s from ${previousBuildSeconds.size} rows exceeds the ${buildBudgetSeconds} s budget`;
          console.log(`  ${note}`);
          skipped.push(note);
          break;
        }
      }
      await db.query(`DROP INDEX IF EXISTS "${hnswIndexName('character_memories', dimension)}"`);
      const from = corpus.ids.length;
      corpus = await growCorpus(corpus, size, set);
      let started = performance.now();
      await insertRows(db, scope.storyId, scope.characterId, corpus, from, size);
      const insertSeconds = (performance.now() - started) / 1000;
      // Room for the whole graph in memory, or the build slows down sharply once it spills.
      await db.query(`SET maintenance_work_mem = '512MB'`);
      started = performance.now();
      if (from === 0) await ensureEmbeddingSettings(db, recordingEmbedder(set));
      else await (await loadVectorStore(db)).ensureIndexes(db, dimension);
      const buildSeconds = (performance.now() - started) / 1000;
      previousBuildSeconds = { size, seconds: buildSeconds };
      await db.query('ANALYZE character_memories');

      const engineDefault = await measureQueries(db, scope, corpus, queries);
      const half = queries.slice(0, Math.ceil(queries.length / 2));
      const efSearch: Record<string, QueryFigures> = {};
      for (const ef of [40, 200]) {
        await db.query(`SET hnsw.ef_search = ${ef}`);
        efSearch[ef] = await measureQueries(db, scope, corpus, half, { engine: false });
      }
      await db.query('RESET hnsw.ef_search');
      await db.query('SET hnsw.ef_search = 100');
      await db.query('SET enable_indexscan = off');
      const exactScan = await measureQueries(db, scope, corpus, half, { engine: false, textPrefix: '/* exact scan, planned with enable_indexscan = off */ ' });
      await db.query('RESET enable_indexscan');
      const row = {
        size,
        plan: size <= exactScanMaxRows ? 'exact' : 'hnsw',
        insertSecondsForNewRows: round(insertSeconds, 1),
        hnswBuildSeconds: round(buildSeconds, 1),
        engineDefault,
        efSearch,
        exactScanSamePglite: exactScan,
        top10P50VsExactScan: round(engineDefault.top10Ms.p50 / exactScan.top10Ms.p50, 3),
      };
      results.push(row);
      console.log(
        `  PGlite ${set.name} ${String(size).padStart(6)} (${row.plan}): insert ${row.insertSecondsForNewRows} s, HNSW build ${row.hnswBuildSeconds} s | top-10 p50 ${engineDefault.top10Ms.p50} ms p95 ${engineDefault.top10Ms.p95} ms recall@10 ${engineDefault.recallAt10} ` +
          `(ef 40: ${efSearch[40]!.recallAt10} at ${efSearch[40]!.top10Ms.p50} ms; ef 200: ${efSearch[200]!.recallAt10} at ${efSearch[200]!.top10Ms.p50} ms; exact scan ${exactScan.top10Ms.p50} ms) | retrieveMemories p50 ${engineDefault.retrieveMemoriesMs?.p50} ms`,
      );
    }
  } finally {
    await backend.dispose();
  }
  return { results, skipped };
}

async function measureServer(set: VectorSet, queries: number[][]) {
  const results = [];
  const backend = await openBenchServerDatabase({ poolSize: 2 });
  const db = backend.db;
  try {
    const scope = await createStoryAndCharacter(db);
    await ensureEmbeddingSettings(db, recordingEmbedder(set));
    const store = await loadVectorStore(db);
    const unnestStore = vectorStoreFor('exact', 'unnest');
    let corpus: Corpus = { ids: [], vectors: new Float32Array(0), dimension: set.dimension };
    for (const size of set.sizes) {
      const from = corpus.ids.length;
      corpus = await growCorpus(corpus, size, set);
      const started = performance.now();
      await insertRows(db, scope.storyId, scope.characterId, corpus, from, size);
      const insertSeconds = (performance.now() - started) / 1000;
      await db.query('ANALYZE character_memories');
      // Exact search reads every row of the character per query: fewer queries at 100k, and
      // the old per-row scan (the baseline) on a handful only.
      const exact = await measureQueries(db, scope, corpus, queries.slice(0, size >= 100_000 ? sized(10, 4) : queries.length));
      const baseline = await measureQueries(db, scope, corpus, queries.slice(0, size >= 100_000 ? 3 : sized(10, 5)), { store: unnestStore, engine: false });
      results.push({ size, insertSecondsForNewRows: round(insertSeconds, 1), exactSearch: store.backend === 'exact' ? 'cube parts' : store.backend, exact, unnestBaseline: baseline, ratioP50: round(exact.top10Ms.p50 / baseline.top10Ms.p50, 3) });
      console.log(
        `  server ${set.name} ${String(size).padStart(6)}: insert ${round(insertSeconds, 1)} s | top-10 p50 ${exact.top10Ms.p50} ms p95 ${exact.top10Ms.p95} ms (per-row unnest scan ${baseline.top10Ms.p50} ms) | retrieveMemories p50 ${exact.retrieveMemoriesMs?.p50} ms | recall@10 ${exact.recallAt10}`,
      );
    }
  } finally {
    await backend.dispose();
  }
  return results;
}

const backends = (process.env['BENCH_RETRIEVAL_BACKENDS'] ?? 'embedded,server').split(',').map((name) => name.trim());

async function main(): Promise<void> {
  const sets = await vectorSets();
  console.log(`retrieval: top-10 over memories of one character, ${queryCount} queries; sets ${sets.map((set) => `${set.name} (${set.sizes.join(', ')})`).join('; ')}`);
  const out = [];
  for (const set of sets) {
    const queries = await set.queries();
    const embedded = backends.includes('embedded') ? await measureEmbedded(set, queries) : { results: [], skipped: [] };
    const server = backends.includes('server') ? await measureServer(set, queries) : [];
    out.push({ set: set.name, vectors: set.describe, dimension: set.dimension, embedded: embedded.results, server, skipped: embedded.skipped });
  }
  const partial = !(backends.includes('embedded') && backends.includes('server'));
  writeResult(partial ? `retrieval-${backends.join('-')}` : 'retrieval', {
    benchmark: 'retrieval',
    queryCount,
    exactScanMaxRows,
    sets: out,
    method:
      `top-10: the vector store nearestSql with limit 10, scoped to the story and character (scopes of at most ${exactScanMaxRows} rows scored exactly, larger through HNSW at the engine's ef_search 100; also at 40 and 200). retrieveMemories: the engine call (200 nearest + 50 recent, ranked, limit 10, touch false). recall@10: |top-10 ∩ exact top-10| / 10, exact computed in JS over the inserted float32 vectors. Exact scan on PGlite: the same query with enable_indexscan = off. Server: exact search over cube parts (migrations/0014) against the per-row unnest scan it replaced, same data, same run.`,
  });
}

await main();
