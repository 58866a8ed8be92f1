import type { Database, Queryable } from '../db/index.js';
import { refreshPlannerStatistics, withTransaction } from '../db/index.js';
import { AppError } from '../errors.js';
import { getLogger } from '../logger.js';
import type { Embedder } from './embedder.js';
import { embeddingParam } from './embedding-param.js';
import { embeddingTables, loadVectorStore, type EmbeddingTable, type VectorStore } from './vector-store.js';

/** Which embedder filled a database's embedding columns; vectors of two embedders do not compare. */
export interface EmbeddingSettings {
  provider: string;
  model: string;
  dimension: number;
}

export function embeddingSettingsOf(embedder: Embedder): EmbeddingSettings {
  return { provider: embedder.name, model: embedder.model, dimension: embedder.dimension };
}

function sameSettings(a: EmbeddingSettings, b: EmbeddingSettings): boolean {
  return a.provider === b.provider && a.model === b.model && a.dimension === b.dimension;
}

function describe(settings: EmbeddingSettings): string {
  return `${settings.provider}/${settings.model} (${settings.dimension} dimensions)`;
}

export async function readEmbeddingSettings(db: Queryable): Promise<EmbeddingSettings | undefined> {
  const { rows } = await db.query<{ value: EmbeddingSettings }>(`SELECT value FROM settings WHERE key = 'embeddings'`);
  return rows[0]?.value;
}

async function writeEmbeddingSettings(db: Queryable, settings: EmbeddingSettings): Promise<void> {
  await db.query(
    `INSERT INTO settings (key, value) VALUES ('embeddings', $1::jsonb)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
    [JSON.stringify(settings)],
  );
}

// Checked once per database and embedder; a turn should not pay a settings round trip.
const verified = new WeakMap<Database, WeakMap<Embedder, VectorStore>>();

/**
 * Records the embedder on first use and refuses a different one afterwards, then makes sure
 * the vector indexes for its dimension exist. Returns the database's vector store.
 */
export async function ensureEmbeddingSettings(db: Database, embedder: Embedder): Promise<VectorStore> {
  const cached = verified.get(db)?.get(embedder);
  if (cached) return cached;
  const wanted = embeddingSettingsOf(embedder);
  // ON CONFLICT DO NOTHING: of two processes starting together, one records, both compare.
  await db.query(`INSERT INTO settings (key, value) VALUES ('embeddings', $1::jsonb) ON CONFLICT (key) DO NOTHING`, [
    JSON.stringify(wanted),
  ]);
  const recorded = await readEmbeddingSettings(db);
  if (recorded && !sameSettings(recorded, wanted)) {
    throw new AppError(
      'embeddings_mismatch',
      `This database's embeddings were made by ${describe(recorded)}, but the configured embedder is ${describe(wanted)}. ` +
        'Run `livingworld reembed` to re-embed everything with the new embedder, or switch EMBEDDINGS_PROVIDER back.',
      { details: { recorded, configured: wanted } },
    );
  }
  const store = await loadVectorStore(db);
  await store.ensureIndexes(db, wanted.dimension);
  let perEmbedder = verified.get(db);
  if (!perEmbedder) verified.set(db, (perEmbedder = new WeakMap()));
  perEmbedder.set(embedder, store);
  return store;
}

/**
 * Builds the vector indexes that the data has grown to need (a search scope past
 * indexScopeRows); checked when a process first embeds, and as turns add rows.
 */
export async function refreshVectorIndexes(db: Database, embedder: Embedder): Promise<void> {
  const store = await ensureEmbeddingSettings(db, embedder);
  await store.ensureIndexes(db, embeddingSettingsOf(embedder).dimension);
}

/**
 * Sets the embeddings of rows of one table in one statement. `onlyMissing`: a row that has
 * one by now (written again meanwhile) keeps its own.
 */
export async function writeEmbeddings(
  tx: Queryable,
  table: EmbeddingTable,
  rows: readonly { story_id: string; id: string }[],
  vectors: readonly number[][],
  options: { onlyMissing?: boolean } = {},
): Promise<number> {
  if (rows.length === 0) return 0;
  // All of them in one binary real[] (embeddingParam), row n's the n-th slice of `dimension`.
  const dimension = vectors[0]?.length ?? 0;
  if (vectors.length !== rows.length || vectors.some((vec) => vec.length !== dimension)) {
    throw new AppError('internal', 'A batch of embeddings to write must hold one vector of one dimension per row.');
  }
  const { rowCount } = await tx.query(
    `UPDATE ${table} AS t SET embedding = v.embedding
     FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS r(story_id, id, n)
     CROSS JOIN LATERAL (SELECT ($3::real[])[(r.n - 1) * $4::int + 1 : r.n * $4::int] AS embedding) AS v
     WHERE t.story_id = r.story_id AND t.id = r.id${options.onlyMissing ? ' AND t.embedding IS NULL' : ''}`,
    [rows.map((row) => row.story_id), rows.map((row) => row.id), embeddingParam(vectors.flat()), dimension],
  );
  return rowCount;
}

/** The text each table's embedding is computed from. */
export const embeddedText: Record<EmbeddingTable, string> = {
  scenes: 'content',
  memories: 'content',
  character_memories: 'content',
  user_instructions: 'content',
  lore_entries: `title || E'\\n' || content`,
};

export interface ReembedProgress {
  table: EmbeddingTable;
  done: number;
}

export interface ReembedOptions {
  batchSize?: number;
  onProgress?: (progress: ReembedProgress) => void;
  signal?: AbortSignal;
}

/**
 * Re-embeds every row with an embedding column using `embedder`, then records it as the
 * database's embedder. Each batch is read, embedded with no transaction open, and written in a
 * short transaction, walking rows by key. Vector indexes are dropped first: a row of the new
 * dimension cannot enter an index built for the old one. Run it with no server writing.
 */
export async function reembedAll(db: Database, embedder: Embedder, options: ReembedOptions = {}): Promise<{ rows: number }> {
  const batchSize = options.batchSize ?? 64;
  const store = await loadVectorStore(db);
  if (store.backend === 'pgvector') {
    for (const table of embeddingTables) {
      const { rows } = await db.query<{ indexname: string }>(
        `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1 AND indexname LIKE $2`,
        [table, `${table}_embedding_hnsw_%`],
      );
      for (const row of rows) await db.query(`DROP INDEX IF EXISTS "${row.indexname}"`);
    }
  }
  let total = 0;
  for (const table of embeddingTables) {
    let after: { storyId: string; id: string } | undefined;
    let done = 0;
    for (;;) {
      options.signal?.throwIfAborted();
      const { rows } = await db.query<{ story_id: string; id: string; text: string }>(
        `SELECT story_id, id, ${embeddedText[table]} AS text FROM ${table}
         WHERE ($1::uuid IS NULL OR (story_id, id) > ($1::uuid, $2::uuid))
         ORDER BY story_id, id LIMIT ${batchSize}`,
        [after?.storyId ?? null, after?.id ?? null],
      );
      if (rows.length === 0) break;
      const vectors = await embedder.embed(
        rows.map((row) => row.text),
        options.signal,
      );
      await withTransaction(db, {}, (tx) => writeEmbeddings(tx, table, rows, vectors));
      done += rows.length;
      options.onProgress?.({ table, done });
      const last = rows.at(-1)!;
      after = { storyId: last.story_id, id: last.id };
    }
    total += done;
  }
  const settings = embeddingSettingsOf(embedder);
  await writeEmbeddingSettings(db, settings);
  await store.ensureIndexes(db, settings.dimension);
  // Every embedding column changed (NULLs filled): the embedded planner's statistics with it.
  await refreshPlannerStatistics(db);
  verified.delete(db);
  getLogger().info({ rows: total, embedder: describe(settings) }, 'embeddings recomputed');
  return { rows: total };
}

