import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { ensureEmbeddingSettings } from '../../src/memory/embedding-settings.js';
import { loadPathSceneIds } from '../../src/world/scene-path.js';
import { relevantInstructionsSearch, relevantStoryMemoriesSearch, searchTogether, similarScenesSearch } from '../../src/memory/retrieve-memories.js';
import { createTestDatabase, type BackendName } from '../helpers/db.js';
import { insertStory } from '../helpers/fixtures.js';
import { createTestEmbedder, embedText } from '../helpers/test-embedder.js';
import { writeScene } from './write-scene.js';

describe.each<BackendName>(['server', 'embedded'])('searches sent together on the %s backend', (backend) => {
  let db: Database;
  let dispose: () => Promise<void>;
  const embedder = createTestEmbedder();
  beforeAll(async () => {
    ({ db, dispose } = await createTestDatabase(backend));
    await ensureEmbeddingSettings(db, embedder);
  });
  afterAll(async () => dispose());

  it('answers each search with its own rows, as if it had been sent alone', async () => {
    const storyId = await insertStory(db);
    const texts = [
      'The storm tore the sails of the merchant ship.',
      'A lantern swung above the harbour wall.',
      'The storm drove the fishing boats back to the harbour.',
      'Bread was baked at dawn in the square.',
      'Thunder rolled over the cliffs as the storm returned.',
      'The harbour master counted the boats again.',
    ];
    let parentId: string | null = null;
    for (const [i, content] of texts.entries()) {
      ({ sceneId: parentId } = await writeScene(db, embedder, { storyId, parentId, sceneNumber: i + 1, content, instruction: i % 2 === 0 ? `make the storm worse ${i}` : `keep it calm ${i}` }));
    }
    const query = { storyId, headSceneId: parentId!, pathSceneIds: await loadPathSceneIds(db, storyId, parentId!), queryEmbedding: embedText('a storm at sea') };
    const searches = [
      await relevantStoryMemoriesSearch(db, { ...query, beforeSceneNumber: 5, limit: 3 }),
      await similarScenesSearch(db, { ...query, beforeSceneNumber: 5, limit: 2 }),
      await relevantInstructionsSearch(db, { ...query, limit: 2 }),
    ];
    const together = await searchTogether(db, searches);
    const alone = [];
    for (const search of searches) alone.push((await searchTogether(db, [search]))[0]);
    expect(together).toEqual(alone);
    const [memories = [], scenes = [], instructions = []] = together;
    expect(memories.length).toBe(3);
    expect(scenes.map((scene) => scene.content)).toEqual(expect.arrayContaining([expect.stringContaining('storm')]));
    expect(scenes.every((scene) => texts.includes(scene.content) && scene.sceneNumber! < 5)).toBe(true);
    expect(instructions.length).toBe(2);
    expect(instructions.every((instruction) => /^(make the storm worse|keep it calm) \d$/.test(instruction.content))).toBe(true);
  });
});
