import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction, type Database } from '../../src/db/index.js';
import { getOrCreateCharacter } from '../../src/characters/character-repo.js';
import { adjustRelationship, listRelationships } from '../../src/characters/relationship-repo.js';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { insertScene, insertStory } from '../helpers/fixtures.js';

describe('relationship adjustments on the server backend', () => {
  let server: TestServerDatabase;
  let db: Database;
  beforeAll(async () => {
    server = await createServerTestDatabase();
    db = server.db;
  });
  afterAll(async () => server.drop());

  async function twoCharacters() {
    const storyId = await insertStory(db);
    const a = await withTransaction(db, {}, (tx) => getOrCreateCharacter(tx, { storyId, name: 'Maya Chen' }));
    const b = await withTransaction(db, {}, (tx) => getOrCreateCharacter(tx, { storyId, name: 'Tomas' }));
    const sceneId = await insertScene(db, storyId, null);
    return { storyId, sceneId, maya: a.character.id, tomas: b.character.id };
  }

  const concurrently = (n: number, fn: () => Promise<unknown>) => Promise.all(Array.from({ length: n }, fn));

  it('loses none of 20 concurrent +0.05 trust updates with the player and reaches exactly 1.0', async () => {
    const { storyId, sceneId, maya } = await twoCharacters();
    await concurrently(20, () =>
      withTransaction(db, {}, (tx) => adjustRelationship(tx, { storyId, sceneId, characterId: maya, targetCharacterId: null, trustDelta: 0.05 })),
    );
    const [relationship] = await listRelationships(db, storyId, maya, sceneId);
    expect(relationship!.trust).toBe(1);
    expect(relationship!.interactionCount).toBe(20);
  });

  it('clamps trust at 1.0 after 40 concurrent +0.05 updates and counts every one', async () => {
    const { storyId, sceneId, maya, tomas } = await twoCharacters();
    await concurrently(40, () =>
      withTransaction(db, {}, (tx) => adjustRelationship(tx, { storyId, sceneId, characterId: maya, targetCharacterId: tomas, trustDelta: 0.05 })),
    );
    const [relationship] = await listRelationships(db, storyId, maya, sceneId);
    expect(relationship!.targetName).toBe('Tomas');
    expect(relationship!.trust).toBe(1);
    expect(relationship!.interactionCount).toBe(40);
  });

  it('drives sentiment to exactly -1 with 20 and with 40 concurrent -0.1 updates', async () => {
    const { storyId, sceneId, maya, tomas } = await twoCharacters();
    await concurrently(20, () =>
      withTransaction(db, {}, (tx) => adjustRelationship(tx, { storyId, sceneId, characterId: tomas, targetCharacterId: null, sentimentDelta: -0.05 })),
    );
    await concurrently(40, () =>
      withTransaction(db, {}, (tx) => adjustRelationship(tx, { storyId, sceneId, characterId: tomas, targetCharacterId: maya, sentimentDelta: -0.05 })),
    );
    const relationships = await listRelationships(db, storyId, tomas, sceneId);
    expect(relationships.map((r) => [r.targetName, r.sentiment, r.interactionCount])).toEqual([
      [null, -1, 20],
      ['Maya Chen', -1, 40],
    ]);
  });

  it('keeps the relationship type unless a new one is given', async () => {
    const { storyId, sceneId, maya } = await twoCharacters();
    await adjustRelationship(db, { storyId, sceneId, characterId: maya, targetCharacterId: null, type: 'friend' });
    const after = await adjustRelationship(db, { storyId, sceneId, characterId: maya, targetCharacterId: null, familiarityDelta: 0.1 });
    expect(after.type).toBe('friend');
    expect(after.familiarity).toBeCloseTo(0.1, 6);
  });
});
