import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { createOfflineProvider } from '../../src/llm/providers/offline.js';
import { createStory } from '../../src/story/create-story.js';
import { getSceneView } from '../../src/story/scene-view.js';
import { takeTurn } from '../../src/story/take-turn.js';
import { createTestDatabase, type BackendName } from '../helpers/db.js';
import { createTestEngine } from '../helpers/engine.js';

describe.each<BackendName>(['server', 'embedded'])('the scene a generated turn answers with, on the %s backend', (backend) => {
  let db: Database;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ db, dispose } = await createTestDatabase(backend));
  });
  afterAll(async () => dispose());

  it('is the committed scene exactly as a later read shows it, its choices and the characters linked to it included', async () => {
    const deps = createTestEngine(db, createOfflineProvider({ seed: 5, latencyMs: 0 }));
    const { story } = await createStory(deps, { title: 'Read back', setting: 'A ferry crossing on a wide brown river, where the ferryman Oren Vale keeps the toll.' });
    let linked = 0;
    for (let turn = 0; turn < 4; turn++) {
      const result = await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 1 + (turn % 3) });
      expect(result.how).toBe('generated');
      expect(result.scene).toEqual(await getSceneView(db, story.id, result.scene.id));
      linked += result.scene.characters.length;
    }
    // The offline storyteller names people, so the characters' part of the view was compared too.
    expect(linked).toBeGreaterThan(0);
  });
});
