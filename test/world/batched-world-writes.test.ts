import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction, type Database } from '../../src/db/index.js';
import { getOrCreateCharacter } from '../../src/characters/character-repo.js';
import { adjustRelationshipAt, adjustRelationshipsAt, foldWorldEvents, loadPathEvents, meetCharacters, readRelationshipsAt, relationshipKey, type RelationshipChangeAtScene } from '../../src/world/index.js';
import { createTestDatabase } from '../helpers/db.js';
import { insertScene, insertStory } from '../helpers/fixtures.js';

/**
 * A turn's commit applies all the relationship changes the model reports in one statement per
 * round (a pair at most once per round). The result must be exactly what applying them one by
 * one gives, clamping and rounding included, and the snapshot must equal the fold of the events.
 */
describe.each(['server', 'embedded'] as const)('batched relationship changes on %s', (backend) => {
  let db: Database;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ db, dispose } = await createTestDatabase(backend));
  });
  afterAll(async () => dispose());

  async function world() {
    const storyId = await insertStory(db);
    const sceneId = await insertScene(db, storyId, null);
    const ids: string[] = [];
    for (const name of ['Maya Chen', 'Tomas', 'Ilse Brink']) {
      ids.push((await withTransaction(db, {}, (tx) => getOrCreateCharacter(tx, { storyId, name }))).character.id);
    }
    await withTransaction(db, {}, (tx) => meetCharacters(tx, { storyId, sceneId, source: 'scene', characterIds: ids }));
    return { storyId, sceneId, ids };
  }

  it('equals the same changes made one by one, repeated pairs, clamps and type changes included', async () => {
    const changes = (m: string, t: string, i: string): RelationshipChangeAtScene[] => [
      { characterId: m, targetCharacterId: null, trustDelta: 0.7, sentimentDelta: 0.1 },
      { characterId: t, targetCharacterId: m, familiarityDelta: 0.3, type: 'friend' },
      { characterId: m, targetCharacterId: null, trustDelta: 0.6, sentimentDelta: -0.05 },
      { characterId: i, targetCharacterId: null, trustDelta: -0.2 },
      { characterId: m, targetCharacterId: null, trustDelta: -0.15, familiarityDelta: 0.123456789 },
      { characterId: t, targetCharacterId: m, sentimentDelta: -1.5, type: '  rival  ' },
    ];
    const batched = await world();
    const [bm, bt, bi] = batched.ids as [string, string, string];
    const returned = await withTransaction(db, {}, (tx) =>
      adjustRelationshipsAt(tx, { storyId: batched.storyId, sceneId: batched.sceneId, source: 'scene', changes: changes(bm, bt, bi) }),
    );
    const single = await world();
    const [sm, st, si] = single.ids as [string, string, string];
    for (const change of changes(sm, st, si)) {
      await withTransaction(db, {}, (tx) => adjustRelationshipAt(tx, { storyId: single.storyId, sceneId: single.sceneId, source: 'scene', ...change }));
    }
    const shape = async (w: { storyId: string; sceneId: string; ids: string[] }) => {
      const name = new Map(w.ids.map((id, k) => [id, k]));
      return (await readRelationshipsAt(db, w.storyId, w.sceneId))
        .map((r) => [name.get(r.characterId), r.targetCharacterId === null ? 'player' : name.get(r.targetCharacterId), r.sentiment, r.trust, r.familiarity, r.type, r.interactionCount])
        .sort((a, b) => String(a).localeCompare(String(b)));
    };
    expect(await shape(batched)).toEqual(await shape(single));
    expect(await shape(batched)).toContainEqual([0, 'player', expect.closeTo(0.05, 6), 0.85, expect.closeTo(0.123457, 6), 'acquaintance', 3]);
    expect(await shape(batched)).toContainEqual([1, 0, -1, 0, expect.closeTo(0.3, 6), 'rival', 2]);
    // One answer per change, in order: the state after that change.
    expect(returned.map((r) => [r.trust, r.interactionCount])).toEqual([
      [expect.closeTo(0.7, 6), 1],
      [0, 1],
      [1, 2],
      [0, 1],
      [0.85, 3],
      [0, 2],
    ]);
    const folded = foldWorldEvents(await loadPathEvents(db, batched.storyId, batched.sceneId));
    for (const r of await readRelationshipsAt(db, batched.storyId, batched.sceneId)) {
      const fold = folded.relationships.get(relationshipKey(r.characterId, r.targetCharacterId));
      // The fold works in float4, as the columns store it; the driver reads them back as short decimals.
      const real = Math.fround;
      expect(fold).toEqual({ sentiment: real(r.sentiment), trust: real(r.trust), familiarity: real(r.familiarity), type: r.type, interactionCount: r.interactionCount });
    }
  });

  it('changes nothing for an empty list', async () => {
    const { storyId, sceneId } = await world();
    expect(await withTransaction(db, {}, (tx) => adjustRelationshipsAt(tx, { storyId, sceneId, source: 'scene', changes: [] }))).toEqual([]);
    expect(await readRelationshipsAt(db, storyId, sceneId)).toEqual([]);
  });
});
