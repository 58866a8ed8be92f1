import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction, type Database } from '../../src/db/index.js';
import type { Embedder } from '../../src/memory/embedder.js';
import { createOfflineEmbedder } from '../../src/memory/embedders/offline.js';
import { ensureEmbeddingSettings } from '../../src/memory/embedding-settings.js';
import { insertCharacterMemories } from '../../src/memory/memory-repo.js';
import { retrieveMemories } from '../../src/memory/retrieve-memories.js';
import { getOrCreateCharacter } from '../../src/characters/character-repo.js';
import { createTestDatabase, type BackendName } from '../helpers/db.js';
import { insertStory } from '../helpers/fixtures.js';
import { generateUnrelatedMemories } from '../helpers/unrelated-memories.js';

describe.each<BackendName>(['embedded', 'server'])('retrieval with the offline embedder on the %s backend', (backend) => {
  let db: Database;
  let dispose: () => Promise<void>;
  let embedder: Embedder;
  beforeAll(async () => {
    ({ db, dispose } = await createTestDatabase(backend));
    embedder = await createOfflineEmbedder();
    await ensureEmbeddingSettings(db, embedder);
  });
  afterAll(async () => dispose());

  it('ranks the planted "He drew his sword at the gate" first for "unsheathed a blade" among 1,000 unrelated memories', async () => {
    const storyId = await insertStory(db);
    const { character } = await withTransaction(db, {}, (tx) => getOrCreateCharacter(tx, { storyId, name: 'Aldric' }));
    const texts = [...generateUnrelatedMemories(1000)];
    texts.splice(417, 0, 'He drew his sword at the gate');
    const embeddings = await embedder.embed(texts);
    await withTransaction(db, {}, (tx) =>
      insertCharacterMemories(
        tx,
        texts.map((content, i) => ({
          storyId,
          characterId: character.id,
          sceneId: null,
          kind: 'observation' as const,
          content,
          emotionalValence: 0,
          importance: 0.5,
          embedding: embeddings[i]!,
        })),
      ),
    );
    const [query] = await embedder.embed(['unsheathed a blade']);
    const top = await retrieveMemories(db, { storyId, characterId: character.id, queryEmbedding: query!, limit: 10 });
    expect(top[0]?.content).toBe('He drew his sword at the gate');
    expect(top).toHaveLength(10);
  });
});
