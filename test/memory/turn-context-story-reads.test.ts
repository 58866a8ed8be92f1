import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { buildTurnContext } from '../../src/memory/build-turn-context.js';
import { ensureEmbeddingSettings } from '../../src/memory/embedding-settings.js';
import { createLoreEntry } from '../../src/memory/lore-repo.js';
import { storeSummary } from '../../src/memory/summarise.js';
import { insertSceneFacts } from '../../src/world/index.js';
import { createTestDatabase, type BackendName } from '../helpers/db.js';
import { insertStory } from '../helpers/fixtures.js';
import { createTestEmbedder } from '../helpers/test-embedder.js';
import { writeScene } from './write-scene.js';

// The summary, the facts and the lore entries of a turn's context share one statement.
describe.each<BackendName>(['server', 'embedded'])('the story reads of a turn context on the %s backend', (backend) => {
  let db: Database;
  let dispose: () => Promise<void>;
  const embedder = createTestEmbedder();
  beforeAll(async () => {
    ({ db, dispose } = await createTestDatabase(backend));
    await ensureEmbeddingSettings(db, embedder);
  });
  afterAll(async () => dispose());

  it('brings the summary, the facts true at the head and the lore the recent scenes activate', async () => {
    const storyId = await insertStory(db);
    const scenes = ['The ferry leaves at dawn.', 'Mara pays the toll with a silver key.', 'Fog rolls over the river.', 'The ferryman talks of his sister.', 'Oars creak in the dark.', 'A bell rings from the lighthouse.'];
    let parentId: string | null = null;
    const ids: string[] = [];
    for (const [i, content] of scenes.entries()) {
      ({ sceneId: parentId } = await writeScene(db, embedder, { storyId, parentId, sceneNumber: i + 1, content }));
      ids.push(parentId);
    }
    await storeSummary(db, { storyId, sceneId: ids[1]!, content: 'Mara crossed by ferry and paid with a key.', throughSceneNumber: 2, embedding: null });
    await insertSceneFacts(db, storyId, ids[1]!, [{ op: 'add', type: 'possession', subject: 'the silver key', text: 'The ferryman holds the silver key.' }]);
    await insertSceneFacts(db, storyId, ids[2]!, [{ op: 'add', type: 'promise', subject: 'the return', text: 'Mara promised to come back.' }]);
    const entry = (title: string, fields: { keywords?: string[]; constant?: boolean; enabled?: boolean }) =>
      createLoreEntry(db, { storyId, title, content: `About ${title}.`, embedding: null, ...fields });
    await entry('the lighthouse', { keywords: ['lighthouse'] });
    await entry('dragons', { keywords: ['dragon'] });
    await entry('the old lighthouse keeper', { keywords: ['lighthouse'], enabled: false });
    await entry('the river', { constant: true });

    const context = await buildTurnContext(db, embedder, { storyId, headSceneId: parentId!, queryText: 'row on', tokenBudget: Infinity, recentWindow: 4 });
    expect(context.summary).toBe('Mara crossed by ferry and paid with a key.');
    expect(context.facts).toEqual(['Possession: The ferryman holds the silver key.', 'Promise: Mara promised to come back.']);
    expect(context.lore.sort()).toEqual(['the lighthouse: About the lighthouse.', 'the river: About the river.']);
  });
});
