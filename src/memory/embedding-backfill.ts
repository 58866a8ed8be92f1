import type { Queryable } from '../db/index.js';
import { enqueueJob, jobsChannel, type JobHandler } from '../jobs/index.js';
import type { Logger } from '../logger.js';
import { embeddingsDeferred } from '../metrics.js';
import type { Embedder } from './embedder.js';
import { embeddedText, ensureEmbeddingSettings, writeEmbeddings } from './embedding-settings.js';
import { embeddingTables, type EmbeddingTable } from './vector-store.js';
import type { Database } from '../db/index.js';

/** Rows embedded per embedder request by a back-fill. */
const backfillBatchSize = 64;

/**
 * Embeds `texts`, or answers undefined when the embedder cannot now (unreachable, failing):
 * the caller stores its rows without embeddings and queues their back-fill, so neither a
 * turn nor an import fails or waits because the embedder is down. Rows without an embedding
 * are simply not matched by meaning until then; keyword lore, recency and importance still work.
 * A cancelled call is the caller's, not the embedder's failure, and is passed on.
 */
export async function embedOrDefer(
  embedder: Embedder,
  texts: string[],
  log: Logger,
  where: 'turn' | 'retrieval' | 'import' | 'lore',
  signal?: AbortSignal,
): Promise<number[][] | undefined> {
  if (texts.length === 0) return [];
  try {
    return await embedder.embed(texts, signal);
  } catch (error) {
    if (signal?.aborted) throw error;
    embeddingsDeferred.inc({ where });
    log.warn({ err: error, embedder: embedder.name, texts: texts.length }, 'the embedder failed; going on without embeddings (they are back-filled later)');
    return undefined;
  }
}

/**
 * Queues the back-fill of a story's missing embeddings, in the transaction that stored the
 * rows. A job is keyed by a scene (one per scene however often it is asked): the given one,
 * or else the story's newest. A story with no scene yet gets none; its rows wait for the
 * first back-fill queued once it has scenes.
 */
export async function queueEmbeddingBackfill(tx: Queryable, storyId: string, sceneId?: string): Promise<void> {
  const keyScene = sceneId ?? (await newestSceneOf(tx, storyId));
  if (keyScene === undefined) return;
  if (await enqueueJob(tx, { storyId, kind: 'embedding', sceneId: keyScene, again: true })) await tx.query('SELECT pg_notify($1, $2)', [jobsChannel, storyId]);
}

async function newestSceneOf(tx: Queryable, storyId: string): Promise<string | undefined> {
  const { rows } = await tx.query<{ id: string }>(
    `SELECT id FROM scenes WHERE story_id = $1 ORDER BY scene_number DESC, created_at DESC, id LIMIT 1`,
    [storyId],
  );
  return rows[0]?.id;
}

async function hasMissingEmbeddings(tx: Queryable, storyId: string): Promise<boolean> {
  const { rows } = await tx.query<{ missing: boolean }>(
    `SELECT ${embeddingTables.map((table) => `EXISTS (SELECT 1 FROM ${table} WHERE story_id = $1 AND embedding IS NULL)`).join(' OR ')} AS missing`,
    [storyId],
  );
  return rows[0]!.missing;
}

type MissingRow = { story_id: string; id: string; text: string };

/**
 * The 'embedding' job: every row of the story with no embedding, in every table that has
 * one, embedded with no transaction open and written in the job's completion (only where
 * still missing). A failing embedder fails the attempt, retried with the queue's backoff.
 */
export function createEmbeddingBackfillHandler(deps: { db: Database; embedder: Embedder }): JobHandler {
  return async (job, signal) => {
    await ensureEmbeddingSettings(deps.db, deps.embedder);
    const found: { table: EmbeddingTable; rows: MissingRow[]; vectors: number[][] }[] = [];
    let total = 0;
    for (const table of embeddingTables) {
      let afterId: string | null = null;
      for (;;) {
        signal.throwIfAborted();
        const { rows }: { rows: MissingRow[] } = await deps.db.query<MissingRow>(
          `SELECT story_id, id, ${embeddedText[table]} AS text FROM ${table}
            WHERE story_id = $1 AND embedding IS NULL AND ($2::uuid IS NULL OR id > $2::uuid)
            ORDER BY id LIMIT ${backfillBatchSize}`,
          [job.storyId, afterId],
        );
        if (rows.length === 0) break;
        const vectors = await deps.embedder.embed(rows.map((row) => row.text), signal);
        if (vectors.length !== rows.length) throw new Error(`the embedder returned ${vectors.length} vectors for ${rows.length} texts`);
        found.push({ table, rows, vectors });
        total += rows.length;
        afterId = rows.at(-1)!.id;
      }
    }
    return {
      write: async (tx) => {
        for (const batch of found) await writeEmbeddings(tx, batch.table, batch.rows, batch.vectors, { onlyMissing: true });
        // Every row found has its embedding now, so one still missing was stored after the scan.
        return (await hasMissingEmbeddings(tx, job.storyId)) ? { runAgain: true as const } : undefined;
      },
      note: `embedded ${total} row${total === 1 ? '' : 's'}`,
    };
  };
}
