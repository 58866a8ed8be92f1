import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { isAppError } from '../../src/errors.js';
import { ensureEmbeddingSettings, readEmbeddingSettings, reembedAll } from '../../src/memory/embedding-settings.js';
import { findSimilarScenes } from '../../src/memory/retrieve-memories.js';
import { hnswIndexName } from '../../src/memory/vector-store.js';
import { createTestDatabase, type BackendName } from '../helpers/db.js';
import { insertStory } from '../helpers/fixtures.js';
import { createTestEmbedder, embedText } from '../helpers/test-embedder.js';
import { writeScene } from './write-scene.js';

describe.each<BackendName>(['server', 'embedded'])('embedding settings on the %s backend', (backend) => {
  let db: Database;
  let dispose: () => Promise<void>;
  beforeEach(async () => {
    ({ db, dispose } = await createTestDatabase(backend));
  });
  afterEach(async () => dispose());

  it('records the embedder on first use and accepts it again', async () => {
    const embedder = createTestEmbedder({ dimension: 16 });
    await ensureEmbeddingSettings(db, embedder);
    expect(await readEmbeddingSettings(db)).toEqual({ provider: 'test', model: 'hashed-bow-16', dimension: 16 });
    await expect(ensureEmbeddingSettings(db, createTestEmbedder({ dimension: 16 }))).resolves.toBeDefined();
  });

  it('refuses a different embedder with embeddings_mismatch, naming reembed', async () => {
    await ensureEmbeddingSettings(db, createTestEmbedder({ dimension: 16 }));
    const error = await ensureEmbeddingSettings(db, createTestEmbedder({ dimension: 32 })).catch((e: unknown) => e);
    expect(isAppError(error, 'embeddings_mismatch')).toBe(true);
    expect((error as Error).message).toContain('livingworld reembed');
    const otherModel = await ensureEmbeddingSettings(db, createTestEmbedder({ dimension: 16, model: 'other' })).catch((e: unknown) => e);
    expect(isAppError(otherModel, 'embeddings_mismatch')).toBe(true);
  });

  it('re-embeds every row with a new embedder, records it, and search works at the new dimension', async () => {
    const small = createTestEmbedder({ dimension: 16 });
    await ensureEmbeddingSettings(db, small);
    const storyId = await insertStory(db);
    let parentId: string | null = null;
    const texts = ['The lighthouse lamp shines.', 'A storm wrecks the ship.', 'Bread at the bakery.', 'The harbour is quiet.'];
    for (const [i, content] of texts.entries()) {
      ({ sceneId: parentId } = await writeScene(db, small, {
        storyId,
        parentId,
        sceneNumber: i + 1,
        content,
        characters: [{ name: 'Maya', thought: `thinking about ${content}` }],
        instruction: `more about ${content}`,
      }));
    }
    await db.query(`INSERT INTO lore_entries (story_id, title, content, embedding) VALUES ($1, 'Town', 'A small town.', $2::real[])`, [
      storyId,
      embedText('Town A small town.', 16),
    ]);

    const large = createTestEmbedder({ dimension: 48 });
    const progress: string[] = [];
    const { rows } = await reembedAll(db, large, { batchSize: 3, onProgress: (p) => progress.push(p.table) });
    // 4 scenes, 4 scene digests, 8 character memories (observation + thought), 4 instructions, 1 lore entry.
    expect(rows).toBe(21);
    expect(new Set(progress)).toEqual(new Set(['scenes', 'memories', 'character_memories', 'user_instructions', 'lore_entries']));
    expect(await readEmbeddingSettings(db)).toEqual({ provider: 'test', model: 'hashed-bow-48', dimension: 48 });
    await expect(ensureEmbeddingSettings(db, large)).resolves.toBeDefined();
    await expect(ensureEmbeddingSettings(db, small)).rejects.toMatchObject({ code: 'embeddings_mismatch' });

    for (const table of ['scenes', 'memories', 'character_memories', 'user_instructions', 'lore_entries']) {
      const lengthSql = backend === 'embedded' ? 'vector_dims(embedding)' : 'array_length(embedding, 1)';
      const { rows: dims } = await db.query<{ d: number }>(`SELECT DISTINCT ${lengthSql} AS d FROM ${table} WHERE story_id = $1`, [storyId]);
      expect(dims.map((r) => r.d)).toEqual([48]);
    }
    if (backend === 'embedded') {
      // No index of the old dimension is left; a story this small is searched exactly, without one.
      const { rows: indexes } = await db.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE indexname LIKE '%_embedding_hnsw_%'`);
      expect(indexes.map((r) => r.indexname).filter((name) => name !== hnswIndexName('scenes', 48))).toEqual([]);
    }
    const similar = await findSimilarScenes(db, { storyId, headSceneId: parentId!, queryEmbedding: embedText('storm wrecks ship', 48), beforeSceneNumber: 10 });
    expect(similar[0]!.content).toBe('A storm wrecks the ship.');
  });
});
