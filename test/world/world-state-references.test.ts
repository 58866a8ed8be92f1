import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction, type Database } from '../../src/db/index.js';
import { getOrCreateCharacter } from '../../src/characters/character-repo.js';
import { deleteStory } from '../../src/story/delete-story.js';
import { adjustRelationshipsAt, branchWorldState, meetCharacters } from '../../src/world/index.js';
import { createTestDatabase } from '../helpers/db.js';
import { insertScene, insertStory } from '../helpers/fixtures.js';

/**
 * The per-scene world's rows name a scene and characters of their own story, checked once per
 * statement (migrations/0026) instead of by a foreign key per row: a bad reference fails the
 * whole statement and writes nothing, a row never moves, and the states go with their scene,
 * character or story.
 */
describe.each(['server', 'embedded'] as const)('world state references on %s', (backend) => {
  let db: Database;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ db, dispose } = await createTestDatabase(backend));
  });
  afterAll(async () => dispose());

  async function world() {
    const storyId = await insertStory(db);
    const opening = await insertScene(db, storyId, null);
    const next = await insertScene(db, storyId, opening);
    const ids: string[] = [];
    for (const name of ['Maya Chen', 'Tomas']) ids.push((await withTransaction(db, {}, (tx) => getOrCreateCharacter(tx, { storyId, name }))).character.id);
    await withTransaction(db, {}, async (tx) => {
      await meetCharacters(tx, { storyId, sceneId: opening, source: 'scene', characterIds: ids });
      await adjustRelationshipsAt(tx, { storyId, sceneId: opening, source: 'scene', changes: [{ characterId: ids[0]!, targetCharacterId: ids[1]!, trustDelta: 0.2 }, { characterId: ids[1]!, targetCharacterId: null, trustDelta: 0.3 }] });
      await branchWorldState(tx, storyId, opening, next);
    });
    return { storyId, opening, next, ids };
  }

  const count = async (table: 'character_states' | 'relationship_states', storyId: string) =>
    (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE story_id = $1`, [storyId])).rows[0]!.n;

  const codeOf = (promise: Promise<unknown>) => promise.then(() => 'no error', (error: { code?: string }) => error.code);

  it('refuses a state at a scene or of a character of another story, for the whole statement', async () => {
    const mine = await world();
    const other = await world();
    const before = await count('character_states', mine.storyId);
    const third = await insertScene(db, mine.storyId, mine.next);
    // One good row and one naming the other story's scene: neither is written.
    expect(
      await codeOf(
        db.query(`INSERT INTO character_states (story_id, scene_id, character_id) VALUES ($1, $2, $3), ($1, $4, $3)`, [mine.storyId, third, mine.ids[0], other.next]),
      ),
    ).toBe('23503');
    expect(await codeOf(db.query(`INSERT INTO character_states (story_id, scene_id, character_id) VALUES ($1, $2, $3)`, [mine.storyId, third, other.ids[0]]))).toBe('23503');
    expect(await count('character_states', mine.storyId)).toBe(before);
    // The good row alone is written.
    await db.query(`INSERT INTO character_states (story_id, scene_id, character_id) VALUES ($1, $2, $3)`, [mine.storyId, third, mine.ids[0]]);
    expect(await count('character_states', mine.storyId)).toBe(before + 1);
  });

  it('refuses a relationship with a character of another story, and names the player relationship fine', async () => {
    const mine = await world();
    const other = await world();
    const insert = (target: string | null) =>
      db.query(`INSERT INTO relationship_states (story_id, scene_id, character_id, target_character_id) VALUES ($1, $2, $3, $4)`, [mine.storyId, mine.next, mine.ids[0], target]);
    expect(await codeOf(insert(other.ids[1]!))).toBe('23503');
    expect(await codeOf(insert(null))).toBe('no error');
    // The upsert of a turn's commit checks its new pairs alike.
    const change = { characterId: mine.ids[1]!, targetCharacterId: other.ids[0]!, trustDelta: 0.1 };
    expect(await codeOf(withTransaction(db, {}, (tx) => adjustRelationshipsAt(tx, { storyId: mine.storyId, sceneId: mine.next, source: 'scene', changes: [change] })))).toBe('23503');
  });

  it('never moves a state row to another scene or character', async () => {
    const mine = await world();
    const third = await insertScene(db, mine.storyId, mine.next);
    expect(await codeOf(db.query(`UPDATE character_states SET scene_id = $3 WHERE story_id = $1 AND scene_id = $2`, [mine.storyId, mine.next, third]))).toBe('23503');
    expect(await codeOf(db.query(`UPDATE relationship_states SET target_character_id = NULL WHERE story_id = $1 AND target_character_id IS NOT NULL`, [mine.storyId]))).toBe('23503');
    // Updating the state itself is what the snapshot does every turn.
    await db.query(`UPDATE character_states SET mood = 'wary', scene_id = scene_id WHERE story_id = $1`, [mine.storyId]);
    const { rows } = await db.query<{ mood: string }>(`SELECT DISTINCT mood FROM character_states WHERE story_id = $1`, [mine.storyId]);
    expect(rows).toEqual([{ mood: 'wary' }]);
  });

  it('deletes the states of a deleted character, as a target too, and of a deleted story, leaving other stories alone', async () => {
    const mine = await world();
    const other = await world();
    expect(await count('character_states', mine.storyId)).toBe(4);
    expect(await count('relationship_states', mine.storyId)).toBe(4);
    await db.query(`DELETE FROM characters WHERE story_id = $1 AND id = $2`, [mine.storyId, mine.ids[1]]);
    expect(await count('character_states', mine.storyId)).toBe(2);
    // Tomas's relationship with the player and Maya's with Tomas, at both scenes.
    expect(await count('relationship_states', mine.storyId)).toBe(0);
    await deleteStory(db, other.storyId);
    expect(await count('character_states', other.storyId)).toBe(0);
    expect(await count('relationship_states', other.storyId)).toBe(0);
    expect(await count('character_states', mine.storyId)).toBe(2);
  });
});
