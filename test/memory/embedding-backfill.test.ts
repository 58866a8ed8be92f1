import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { backgroundSettingsFor, createJobWorker } from '../../src/jobs/index.js';
import { createOfflineProvider } from '../../src/llm/providers/offline.js';
import { createOllamaEmbedder } from '../../src/memory/embedders/ollama.js';
import { addLoreEntry } from '../../src/memory/edit-lore.js';
import { embeddingTables, loadVectorStore } from '../../src/memory/vector-store.js';
import { importStoryArchive } from '../../src/io/write-story-archive.js';
import { exportStoryArchive } from '../../src/io/read-story-archive.js';
import { createBackgroundJobHandlers } from '../../src/story/background-job-handlers.js';
import { createStory } from '../../src/story/create-story.js';
import { readDatabaseStats } from '../../src/story/database-stats.js';
import { takeTurn } from '../../src/story/take-turn.js';
import { createTestDatabase, type BackendName } from '../helpers/db.js';
import { createTestEngine } from '../helpers/engine.js';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-model-servers.js';

/** Rows of the story without an embedding, per table (tables with none left out). */
async function missingEmbeddings(db: Database, storyId: string): Promise<Record<string, number>> {
  const missing: Record<string, number> = {};
  for (const table of embeddingTables) {
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE story_id = $1 AND embedding IS NULL`, [storyId]);
    if (rows[0]!.n > 0) missing[table] = rows[0]!.n;
  }
  return missing;
}

async function embeddingJobs(db: Database, storyId: string) {
  const { rows } = await db.query<{ status: string; attempts: number; last_error: string | null; due_in_ms: number }>(
    `SELECT status, attempts, last_error, (extract(epoch FROM run_after - clock_timestamp()) * 1000)::float8 AS due_in_ms
       FROM background_jobs WHERE story_id = $1 AND kind = 'embedding' ORDER BY created_at`,
    [storyId],
  );
  return rows;
}

/**
 * The embedder is a real HTTP server on 127.0.0.1 (Ollama's /api/embed) that goes down and
 * comes back; the database is real PostgreSQL (and PGlite), and two workers compete for the back-fill.
 */
describe.each<BackendName>(['server', 'embedded'])('embedding back-fill as a background job (%s)', (backend) => {
  const server = {} as { db: Database; dispose: () => Promise<void> };
  let ollama: FakeOllama;
  beforeAll(async () => {
    Object.assign(server, await createTestDatabase(backend));
    ollama = await startFakeOllama();
  }, 60_000);
  afterAll(async () => {
    await ollama?.close();
    await server.dispose?.();
  });

  async function engine() {
    const embedder = await createOllamaEmbedder({ host: ollama.url, model: 'nomic-embed-text', timeoutMs: 2_000, maxRetries: 1, retryBaseDelayMs: 5 });
    const provider = createOfflineProvider({ seed: 5 });
    const deps = { ...createTestEngine(server.db, provider), embedder, background: backgroundSettingsFor(provider, {}) };
    const worker = (owner: string) => createJobWorker({ db: server.db, log: deps.log, owner, handlers: createBackgroundJobHandlers(deps), skipStoriesGenerating: false });
    return { deps, worker };
  }

  it('a turn with the embedder down stores its rows without embeddings and queues one back-fill, retried with backoff, run once when the embedder is back', async () => {
    const { db } = server;
    ollama.reply({});
    const { deps, worker } = await engine();
    const { story } = await createStory(deps, { title: 'Back-fill', setting: 'A harbour in winter' });
    await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 1 });
    expect(await missingEmbeddings(db, story.id)).toEqual({});
    expect(await embeddingJobs(db, story.id)).toEqual([]);

    // The embedder goes down: the turn neither fails nor waits on it.
    ollama.reply({ alwaysStatus: 503 });
    const started = Date.now();
    const turn = await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 1, instruction: 'the lighthouse keeper appears' });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(turn.scene.sceneNumber).toBe(3);
    const lore = await addLoreEntry(deps, { storyId: story.id, title: 'The lighthouse', content: 'It has been dark for ten years.', keywords: ['lighthouse'] });
    const missing = await missingEmbeddings(db, story.id);
    expect(missing).toMatchObject({ scenes: 1, memories: 1, user_instructions: 1, lore_entries: 1 });
    const { rows: sceneRow } = await db.query<{ has: boolean }>(`SELECT embedding IS NOT NULL AS has FROM scenes WHERE story_id = $1 AND id = $2`, [story.id, turn.scene.id]);
    expect(sceneRow).toEqual([{ has: false }]);
    // One job, keyed by the turn's scene (the lore entry's back-fill is the same job: still queued).
    expect(await embeddingJobs(db, story.id)).toMatchObject([{ status: 'queued', attempts: 0 }]);
    expect(((await readDatabaseStats(db, { storyId: story.id })) as any).story.background_jobs.embedding).toEqual({ queued: 1, running: 0, failed: 0, done: 0 });

    // Retrieval goes on meanwhile: the next scene's context is built without a query embedding.
    const next = await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 1 });
    expect(next.scene.sceneNumber).toBe(4);

    // A worker tries while the embedder is still down: the attempt fails and is put off.
    const first = worker('w1');
    const embedCallsBefore = ollama.requests.filter((r) => r.path === '/api/embed').length;
    while (await first.runOnce());
    const failed = await embeddingJobs(db, story.id);
    expect(failed).toHaveLength(2);
    for (const job of failed) {
      expect(job).toMatchObject({ status: 'queued', attempts: 1 });
      expect(job.last_error).toMatch(/503|unavailable|embed/i);
      expect(job.due_in_ms).toBeGreaterThan(200);
    }
    expect(ollama.requests.filter((r) => r.path === '/api/embed').length).toBeGreaterThan(embedCallsBefore);
    expect(await missingEmbeddings(db, story.id)).not.toEqual({});

    // The embedder is back and the backoff has passed: two workers race, each job runs once.
    ollama.reply({});
    await db.query(`UPDATE background_jobs SET run_after = now() WHERE story_id = $1`, [story.id]);
    const ran = await Promise.all([first.drain(), worker('w2').drain()]);
    expect(ran[0] + ran[1]).toBe(2);
    expect(await missingEmbeddings(db, story.id)).toEqual({});
    const done = await embeddingJobs(db, story.id);
    expect(done.map((job) => [job.status, job.attempts])).toEqual([
      ['done', 2],
      ['done', 2],
    ]);
    expect(((await readDatabaseStats(db, { storyId: story.id })) as any).story.background_jobs.embedding).toEqual({ queued: 0, running: 0, failed: 0, done: 2 });
    // The back-filled lore entry is the embedder's vector of its text, as if stored at once.
    const store = await loadVectorStore(db);
    const { rows: loreRow } = await db.query<{ ok: boolean }>(
      `SELECT ${store.hasDimensionSql('embedding', ollama.embeddingDimension)} AS ok FROM lore_entries WHERE story_id = $1 AND id = $2`,
      [story.id, lore.id],
    );
    expect(loreRow).toEqual([{ ok: true }]);
  });

  it('an imported story (an archive carries no embeddings) is embedded by a back-fill; rows added after a finished back-fill queue it again', async () => {
    const { db } = server;
    ollama.reply({});
    const { deps, worker } = await engine();
    const { story } = await createStory(deps, { title: 'To export', setting: 'A mill on a river' });
    for (let i = 0; i < 2; i++) await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 1 });
    const archive = await exportStoryArchive(db, story.id);
    const { storyId } = await importStoryArchive(db, archive);
    expect(Object.keys(await missingEmbeddings(db, storyId))).toContain('scenes');
    expect(await embeddingJobs(db, storyId)).toMatchObject([{ status: 'queued' }]);
    expect(await worker('w1').drain()).toBe(1);
    expect(await missingEmbeddings(db, storyId)).toEqual({});

    // Lore added later while the embedder is down: the same (finished) job is queued again.
    ollama.reply({ alwaysStatus: 503 });
    await addLoreEntry(deps, { storyId, title: 'The mill wheel', content: 'It turns backwards at night.', keywords: ['wheel'] });
    expect(await missingEmbeddings(db, storyId)).toEqual({ lore_entries: 1 });
    expect(await embeddingJobs(db, storyId)).toMatchObject([{ status: 'queued', attempts: 0 }]);
    ollama.reply({});
    expect(await worker('w2').drain()).toBe(1);
    expect(await missingEmbeddings(db, storyId)).toEqual({});
  });
});
