import type { Database, Queryable } from '../db/index.js';
import { withTransaction } from '../db/index.js';
import { AppError } from '../errors.js';
import { getLogger } from '../logger.js';
import { embeddingParam } from './embedding-param.js';

/** Which column type the schema migration chose: pgvector's `vector`, or `real[]` without the extension. */
export type VectorBackend = 'pgvector' | 'exact';

/** Every table with an `embedding` column. */
export const embeddingTables = ['scenes', 'memories', 'character_memories', 'user_instructions', 'lore_entries'] as const;
export type EmbeddingTable = (typeof embeddingTables)[number];

export interface NearestQuery {
  /**
   * The table whose embeddings are ranked. On pgvector, a table without an HNSW index of the
   * query's dimension is searched exactly in a query of one plan (no scope count, nothing for
   * the planner to weigh against an index that is not there).
   */
  table: EmbeddingTable;
  /** Table and alias, e.g. `character_memories m` (may join other tables). */
  from: string;
  /** The embedding column, qualified by the alias. */
  column: string;
  /** Columns to return besides `similarity`. */
  select: string;
  /** Extra conditions, ANDed; may use parameters $1..$n of `params`. */
  where: string;
  params: unknown[];
  queryEmbedding: number[];
  dimension: number;
  limit: number;
}

/**
 * One interface over both column types, so that callers never branch on the backend.
 * Writes need none of it: `$n::real[]` (embeddingParam) is assignable to both column types
 * (pgvector defines an assignment cast from real[]), so repos insert embeddings the same way everywhere.
 */
export interface VectorStore {
  readonly backend: VectorBackend;
  /** SQL that is true when the column holds an embedding of this dimension. */
  hasDimensionSql(column: string, dimension: number): string;
  /** SQL for the cosine similarity of a column to a `real[]` parameter. */
  similaritySql(column: string, param: string, dimension: number): string;
  /** similaritySql where the column holds an embedding of this dimension, else NULL. */
  similarityOrNullSql(column: string, param: string, dimension: number): string;
  /**
   * Whether nearestSql on this table and dimension is an exact scan of its scope in a plan of
   * one (no HNSW index it could use), rather than a choice between that scan and the index.
   */
  searchesExactly(table: EmbeddingTable, dimension: number): boolean;
  /**
   * SQL for the `limit` rows nearest to the query embedding, most similar first, with a
   * `similarity` column. On pgvector it has the shape the HNSW expression index serves.
   */
  nearestSql(query: NearestQuery): { sql: string; params: unknown[] };
  /**
   * Creates the indexes nearest-neighbour queries of this dimension will use, for the tables
   * where a search scope has grown large enough to need one (no-op for exact search).
   */
  ensureIndexes(db: Database, dimension: number): Promise<void>;
}

function checkDimension(dimension: number): number {
  if (!Number.isInteger(dimension) || dimension < 1 || dimension > 16_000) {
    throw new AppError('internal', `Invalid embedding dimension ${dimension}.`);
  }
  return dimension;
}

export function hnswIndexName(table: EmbeddingTable, dimension: number): string {
  return `${table}_embedding_hnsw_${dimension}`;
}

/**
 * Scopes of at most this many rows are searched exactly on pgvector, larger ones through the
 * HNSW index (bench/results, "Memory retrieval": exact at this size stays within a few ms).
 */
export const exactScanMaxRows = 5_000;

/**
 * The rows one nearest query ranks: a story's (its path is part of it), or one character's.
 * An HNSW index only serves scopes larger than exactScanMaxRows; below that every search is
 * exact and the index is only paid for: each row written enters the graph, which on PGlite
 * was about a quarter of a turn's own time (bench/turn-overhead.ts). So a table gets its index
 * once one of its scopes reaches indexScopeRows, a margin before searches turn to the index.
 */
const searchScope: Record<EmbeddingTable, string> = {
  scenes: 'story_id',
  memories: 'story_id',
  character_memories: 'story_id, character_id',
  user_instructions: 'story_id',
  lore_entries: 'story_id',
};
export const indexScopeRows = Math.floor(exactScanMaxRows * 0.8);

/**
 * The HNSW indexes a database has, as `table:dimension`, kept with its vector store
 * (loadVectorStore reads them, ensureIndexes updates them). Another process that builds or
 * drops an index is seen at this process's next ensureIndexes (refreshVectorIndexes runs as
 * turns add rows); until then a table it indexed is searched exactly, which is right, only slower.
 */
type KnownIndexes = Set<string>;

const indexKey = (table: EmbeddingTable, dimension: number) => `${table}:${dimension}`;

function pgvectorStoreWith(known: KnownIndexes | undefined): VectorStore {
  const store: VectorStore = {
    backend: 'pgvector',
    hasDimensionSql(column, dimension) {
      return `(${column} IS NOT NULL AND vector_dims(${column}) = ${checkDimension(dimension)})`;
    },
    similaritySql(column, param, dimension) {
      const d = checkDimension(dimension);
      return `(1 - (${column}::vector(${d}) <=> ${param}::real[]::vector(${d})))`;
    },
    similarityOrNullSql(column, param, dimension) {
      return `CASE WHEN ${store.hasDimensionSql(column, dimension)} THEN ${store.similaritySql(column, param, dimension)} END`;
    },
    searchesExactly(table, dimension) {
      return known !== undefined && !known.has(indexKey(table, checkDimension(dimension)));
    },
    nearestSql(query) {
      const d = checkDimension(query.dimension);
      const p = `$${query.params.length + 1}`;
      const limit = Math.max(1, Math.trunc(query.limit));
      const distance = `${query.column}::vector(${d}) <=> ${p}::real[]::vector(${d})`;
      const inScope = `${query.where} AND ${query.column} IS NOT NULL`;
      const ofDimension = `vector_dims(${query.column}) = ${d}`;
      const params = [...query.params, embeddingParam(query.queryEmbedding)];
      // The exact plan orders by its output column `similarity`, so each row's distance is
      // computed once.
      const exact = (condition: string) => `
          SELECT ${query.select}, 1 - (${distance}) AS similarity
             FROM ${query.from}
            WHERE ${inScope} AND ${ofDimension}${condition}
            ORDER BY similarity DESC
            LIMIT ${limit}`;
      if (store.searchesExactly(query.table, d)) return { sql: exact(''), params };
      // Two plans, one chosen per query by the size of its scope: a small scope (one character's
      // memories, a story's path of a few thousand scenes) is scored exactly, which is always
      // right; a large one is served by the HNSW index. Whether the scope is larger than the
      // exact limit is asked first, by a pass that never reads an embedding's values and stops
      // at the first row past the limit (EXISTS … OFFSET: cheaper than counting up to it); the
      // exact plan then reads the (small) scope again from pages that pass has just brought in.
      // Keeping the scope's rows with their embeddings in a materialised CTE instead, to be
      // counted and scored from there, copied up to 5,001 embeddings per query: at 100,000
      // memories that copy was a third of a search that went to the index anyway
      // (bench/retrieval.ts), and at 1,500 rows it was slower than the second read. The index
      // plan's ORDER BY must be the indexed expression itself (embedding::vector(N)); the outer
      // ORDER BY restores exact order, which the iterative index scan ("relaxed_order") does not
      // guarantee. The index plan has no dimension filter: the planner misjudges its
      // selectivity and skips the index, and the index itself admits only rows of its
      // dimension (reembedAll drops it while dimensions are mixed).
      const sql = `
        WITH scope AS MATERIALIZED (
          SELECT EXISTS (SELECT 1 FROM ${query.from} WHERE ${inScope} AND ${ofDimension} OFFSET ${exactScanMaxRows}) AS large
        )
        SELECT * FROM (
          (${exact(' AND NOT (SELECT large FROM scope)')})
          UNION ALL
          (SELECT ${query.select}, 1 - (${distance}) AS similarity
             FROM ${query.from}
            WHERE ${inScope} AND (SELECT large FROM scope)
            ORDER BY ${distance}
            LIMIT ${limit})
        ) nearest
        ORDER BY similarity DESC`;
      return { sql, params };
    },
    async ensureIndexes(db, dimension) {
      const d = checkDimension(dimension);
      const indexed: string[] = [];
      await withTransaction(db, {}, async (tx) => {
        // withTransaction may run this again after a conflict: only the attempt that commits counts.
        indexed.length = 0;
        // Servers starting together would otherwise race on CREATE INDEX IF NOT EXISTS.
        await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('livingworld:vector-indexes', 0))`);
        for (const table of embeddingTables) {
          const name = hnswIndexName(table, d);
          const { rows } = await tx.query<{ indexname: string }>(
            `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1 AND indexname LIKE $2`,
            [table, `${table}_embedding_hnsw_%`],
          );
          for (const row of rows) {
            if (row.indexname !== name) await tx.query(`DROP INDEX IF EXISTS "${row.indexname}"`);
          }
          if (rows.some((row) => row.indexname === name)) {
            indexed.push(indexKey(table, d));
            continue;
          }
          const { rows: large } = await tx.query(
            `SELECT 1 FROM ${table} WHERE embedding IS NOT NULL GROUP BY ${searchScope[table]} HAVING count(*) >= $1 LIMIT 1`,
            [indexScopeRows],
          );
          if (large.length === 0) continue;
          await tx.query(`CREATE INDEX "${name}" ON ${table} USING hnsw ((embedding::vector(${d})) vector_cosine_ops)`);
          indexed.push(indexKey(table, d));
        }
      });
      // This store's own set, and the one loadVectorStore keeps for `db` (the same set when this
      // store came from there).
      for (const indexes of new Set([known, backendCache.get(db)?.indexes])) {
        if (!indexes) continue;
        indexes.clear();
        for (const key of indexed) indexes.add(key);
      }
      // Scoped queries (one story, one character) filter after the index scan; iterative scans
      // keep reading the index until enough rows pass the filter. New sessions get it from the
      // database default, the current one (PGlite has only one) from SET. Best effort: a role
      // that does not own the database cannot set its defaults, and search still works without.
      // A wider search list than pgvector's default 40: bench/results shows recall@10 at 10k
      // memories rising from 0.65 to 0.88 for about a millisecond more per query.
      await db
        .query(
          `DO $$ BEGIN
             EXECUTE format('ALTER DATABASE %I SET hnsw.iterative_scan = relaxed_order', current_database());
             EXECUTE format('ALTER DATABASE %I SET hnsw.ef_search = 100', current_database());
           END $$`,
        )
        .catch((error: unknown) => getLogger().warn({ err: error }, 'could not set HNSW search defaults for new sessions'));
      await db.query(`SET hnsw.iterative_scan = relaxed_order`);
      await db.query(`SET hnsw.ef_search = 100`);
    },
  };
  return store;
}

// Embeddings are unit vectors, so their dot product is the cosine similarity.
function exactSimilaritySql(column: string, param: string): string {
  return `(SELECT sum(a * b) FROM unnest(${column}, ${param}::real[]) AS v(a, b))`;
}

/** Dimensions per cube (the cube extension's limit); migrations/0014 splits embeddings alike. */
const cubePartDimensions = 100;

/**
 * Parts of at most this many cubes (800 dimensions, about 6.5 KB) stay in the row as they are
 * (migrations/0025: storage MAIN, toast_tuple_target 8160, the real[] embedding moved out
 * first), so a subscript of the column reads them in place; beyond, they may be compressed.
 */
const partsKeptInRow = 8;

/**
 * With migrations/0014's `embedding_parts` (the embedding as cubes of 100 dimensions): for
 * unit vectors ‖a − b‖² = 2 − 2·a·b, so similarity = 1 − (Σ parts' squared distances) / 2,
 * computed in C per row; NULL for a row of another dimension (the check reads the parts, not
 * the real[] embedding, which is out of line from a few hundred dimensions).
 *
 * Parts kept in the row are read by subscripts of the column: one expression a row, a third
 * faster at 100 and 256 dimensions than reading them through a per-row sub-select. Longer
 * parts may be compressed or out of line, where every subscript of the column would detoast
 * the whole array again (n decompressions or TOAST fetches a row for n parts), so the row's
 * array is read once, in a sub-select that copies it (`|| '{}'`).
 */
function cubePartsSimilaritySql(column: string, param: string, dimension: number): string {
  const parts = Math.ceil(dimension / cubePartDimensions);
  const lastPartDimensions = dimension - (parts - 1) * cubePartDimensions;
  // Each of the query's parts is an uncorrelated sub-select of its own, a cube computed once
  // per statement; one sub-select of the whole array would be subscripted again on every row.
  const queryPart = (i: number) => `(SELECT (lw_embedding_parts(${param}::real[]))[${i}])`;
  const score = (p: string) => {
    const terms = Array.from({ length: parts }, (_, i) => `power(${p}[${i + 1}] <-> ${queryPart(i + 1)}, 2)`);
    return `CASE WHEN cardinality(${p}) = ${parts} AND cube_dim(${p}[${parts}]) = ${lastPartDimensions} THEN 1 - (${terms.join(' + ')}) / 2 END`;
  };
  if (parts <= partsKeptInRow) return `(${score(`${column}_parts`)})`;
  return `(SELECT ${score('row_parts.p')}
      FROM (SELECT ${column}_parts || '{}'::cube[] AS p OFFSET 0) AS row_parts)`;
}

interface ExactScoring {
  similarity(column: string, param: string, dimension: number): string;
  /**
   * Whether similarity is NULL for rows of another dimension, so that the nearest query filters
   * on it instead of on hasDimensionSql (which reads the real[] embedding of every row).
   */
  checksDimension: boolean;
}

function exactStoreWith(scoring: ExactScoring): VectorStore {
  const store: VectorStore = {
    backend: 'exact',
      hasDimensionSql(column, dimension) {
      return `(${column} IS NOT NULL AND array_length(${column}, 1) = ${checkDimension(dimension)})`;
    },
    similaritySql(column, param, dimension) {
      return scoring.similarity(column, param, checkDimension(dimension));
    },
    similarityOrNullSql(column, param, dimension) {
      const similarity = store.similaritySql(column, param, dimension);
      return scoring.checksDimension ? similarity : `CASE WHEN ${store.hasDimensionSql(column, dimension)} THEN ${similarity} END`;
    },
    searchesExactly() {
      return true;
    },
    nearestSql(query) {
      const d = checkDimension(query.dimension);
      const p = `$${query.params.length + 1}`;
      const limit = Math.max(1, Math.trunc(query.limit));
      // Every row of the scope is scored by one expression, then the top `limit` kept. Where
      // the score is NULL for other dimensions it is filtered outside a fence (OFFSET 0), or
      // the planner would copy the expression into the filter and score each row twice.
      const sql = scoring.checksDimension
        ? `
        SELECT * FROM (
          SELECT ${query.select}, ${scoring.similarity(query.column, p, d)} AS similarity
          FROM ${query.from}
          WHERE ${query.where} AND ${query.column} IS NOT NULL
          OFFSET 0
        ) scored
        WHERE similarity IS NOT NULL
        ORDER BY similarity DESC
        LIMIT ${limit}`
        : `
        SELECT ${query.select}, ${scoring.similarity(query.column, p, d)} AS similarity
        FROM ${query.from}
        WHERE ${query.where} AND ${store.hasDimensionSql(query.column, d)}
        ORDER BY similarity DESC
        LIMIT ${limit}`;
      return { sql, params: [...query.params, embeddingParam(query.queryEmbedding)] };
    },
    async ensureIndexes() {
      // Exact search scans the scoped rows; there is no index type for real[] similarity.
    },
  };
  return store;
}

const exactStore = exactStoreWith({ similarity: (column, param) => exactSimilaritySql(column, param), checksDimension: false });
const exactCubeStore = exactStoreWith({ similarity: cubePartsSimilaritySql, checksDimension: true });

/** How exact search scores rows: the per-row sub-select, or the cube parts of migrations/0014. */
export type ExactSearch = 'unnest' | 'cube_parts';

/**
 * A vector store that knows nothing of the database's indexes: on pgvector every nearest query
 * has both plans, so that it is served by an index wherever one exists. loadVectorStore gives
 * the store that knows.
 */
export function vectorStoreFor(backend: VectorBackend, exactSearch: ExactSearch = 'unnest'): VectorStore {
  if (backend === 'pgvector') return pgvectorStoreWith(undefined);
  return exactSearch === 'cube_parts' ? exactCubeStore : exactStore;
}

const backendCache = new WeakMap<object, { indexes: KnownIndexes; store: VectorStore }>();

/** The vector store of this database, from the `vector_backend` setting the migration wrote and the HNSW indexes it has. */
export async function loadVectorStore(db: Queryable): Promise<VectorStore> {
  const cached = backendCache.get(db);
  if (cached) return cached.store;
  const { rows } = await db.query<{ key: string; value: unknown }>(
    `SELECT key, value FROM settings WHERE key IN ('vector_backend', 'exact_search')
     UNION ALL
     SELECT 'hnsw_index', to_jsonb(indexname::text) FROM pg_indexes WHERE schemaname = current_schema() AND indexname LIKE '%\\_embedding\\_hnsw\\_%'`,
  );
  const value = rows.find((row) => row.key === 'vector_backend')?.value;
  if (value !== 'pgvector' && value !== 'exact') {
    throw new AppError('database_unavailable', 'The database has no vector_backend setting; run `livingworld migrate`.');
  }
  const exactSearch: ExactSearch = rows.find((row) => row.key === 'exact_search')?.value === 'cube_parts' ? 'cube_parts' : 'unnest';
  const indexes: KnownIndexes = new Set();
  const indexName = new RegExp(`^(${embeddingTables.join('|')})_embedding_hnsw_(\\d+)$`);
  for (const row of rows) {
    const match = row.key === 'hnsw_index' ? indexName.exec(String(row.value)) : null;
    if (match) indexes.add(indexKey(match[1] as EmbeddingTable, Number(match[2])));
  }
  const store = value === 'pgvector' ? pgvectorStoreWith(indexes) : vectorStoreFor(value, exactSearch);
  backendCache.set(db, { indexes, store });
  return store;
}
