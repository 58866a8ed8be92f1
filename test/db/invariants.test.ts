import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { createTestDatabase, type BackendName } from '../helpers/db.js';
import { insertScene, insertStory } from '../helpers/fixtures.js';

async function settle<T>(promises: Promise<T>[]) {
  const results = await Promise.allSettled(promises);
  return {
    fulfilled: results.filter((r) => r.status === 'fulfilled').length,
    errors: results.flatMap((r) => (r.status === 'rejected' ? [r.reason as { code?: string; constraint?: string }] : [])),
  };
}

describe.each<BackendName>(['server', 'embedded'])('schema invariants on the %s backend', (backend) => {
  let db: Database;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ db, dispose } = await createTestDatabase(backend));
  });
  afterAll(async () => dispose());

  it('keeps one character per story and normalised name when 20 connections insert variants at once', async () => {
    const storyA = await insertStory(db);
    const storyB = await insertStory(db);
    const variants = ['Maya Chen', 'maya chen', ' Maya  Chen ', 'MAYA CHEN', '"Maya Chen."'];
    const attempts = Array.from({ length: 20 }, (_, i) =>
      db.query('INSERT INTO characters (story_id, name) VALUES ($1, $2)', [i % 2 ? storyA : storyB, variants[i % variants.length]]),
    );
    const { fulfilled, errors } = await settle(attempts);
    expect(fulfilled).toBe(2);
    expect(errors).toHaveLength(18);
    for (const error of errors) {
      expect(error.code).toBe('23505');
      expect(error.constraint).toBe('characters_story_name_key_unique');
    }
    const { rows } = await db.query<{ story_id: string; name_key: string }>(
      'SELECT story_id, name_key FROM characters WHERE story_id = ANY($1) ORDER BY story_id',
      [[storyA, storyB]],
    );
    expect(rows.map((r) => r.name_key)).toEqual(['maya chen', 'maya chen']);
  });

  it('refuses a second generating turn for one story, even from another connection', async () => {
    const story = await insertStory(db);
    const insertTurn = (hash: string) =>
      db.query(
        `INSERT INTO turns (story_id, kind, request_hash, status, lease_owner, lease_expires_at)
         VALUES ($1, 'open', $2, 'generating', 'test', now() + interval '30 seconds')`,
        [story, hash],
      );
    const { fulfilled, errors } = await settle([insertTurn('a'), insertTurn('b'), insertTurn('c')]);
    expect(fulfilled).toBe(1);
    expect(errors.map((e) => e.constraint)).toEqual(['turns_one_generating_per_story', 'turns_one_generating_per_story']);
  });

  it('names at most one turn per story with an idempotency key', async () => {
    const story = await insertStory(db);
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO turns (story_id, kind, request_hash, status, error_code) VALUES ($1, 'open', 'h', 'failed', 'x'), ($1, 'open', 'h', 'failed', 'y') RETURNING id`,
      [story],
    );
    const recordKey = (turnId: string) =>
      db.query(`INSERT INTO turn_idempotency_keys (story_id, idempotency_key, turn_id) VALUES ($1, 'key-1', $2)`, [story, turnId]);
    const { fulfilled, errors } = await settle([recordKey(rows[0]!.id), recordKey(rows[1]!.id), recordKey(rows[0]!.id)]);
    expect(fulfilled).toBe(1);
    expect(errors.every((e) => e.constraint === 'turn_idempotency_keys_pkey')).toBe(true);
  });

  it('makes every scene number its parent number plus one', async () => {
    const story = await insertStory(db);
    const root = await insertScene(db, story, null);
    const child = await insertScene(db, story, root);
    const { rows } = await db.query<{ scene_number: number }>('SELECT scene_number FROM scenes WHERE story_id = $1 AND id = $2', [story, child]);
    expect(rows[0]?.scene_number).toBe(2);
    await expect(
      db.query(
        `INSERT INTO scenes (story_id, parent_scene_id, parent_scene_number, scene_number, content) VALUES ($1, $2, 1, 3, 'skips')`,
        [story, root],
      ),
    ).rejects.toMatchObject({ code: '23514', constraint: 'scenes_number_follows_parent' });
    await expect(
      db.query(
        `INSERT INTO scenes (story_id, parent_scene_id, parent_scene_number, scene_number, content) VALUES ($1, $2, 2, 3, 'lies about parent')`,
        [story, root],
      ),
    ).rejects.toMatchObject({ code: '23503', constraint: 'scenes_parent_fk' });
    await expect(db.query(`INSERT INTO scenes (story_id, scene_number, content) VALUES ($1, 2, 'orphan')`, [story])).rejects.toMatchObject({
      code: '23514',
    });
  });

  it('refuses a scene whose parent lives in another story', async () => {
    const storyA = await insertStory(db);
    const storyB = await insertStory(db);
    const rootA = await insertScene(db, storyA, null);
    await expect(
      db.query(`INSERT INTO scenes (story_id, parent_scene_id, parent_scene_number, scene_number, content) VALUES ($1, $2, 1, 2, 'x')`, [
        storyB,
        rootA,
      ]),
    ).rejects.toMatchObject({ code: '23503' });
  });

  it('refuses a scene stored without choices', async () => {
    const story = await insertStory(db);
    await expect(db.query(`INSERT INTO scenes (story_id, scene_number, content) VALUES ($1, 1, 'no choices')`, [story])).rejects.toMatchObject({
      code: '23514',
    });
  });

  it('refuses two scenes for one turn and a choice number used twice', async () => {
    const story = await insertStory(db);
    const root = await insertScene(db, story, null);
    await expect(db.query(`INSERT INTO choices (story_id, scene_id, choice_number, content) VALUES ($1, $2, 1, 'again')`, [story, root])).rejects.toMatchObject({
      code: '23505',
    });
  });

  it('clamps nothing silently: out-of-range trust, sentiment, valence and importance are refused', async () => {
    const story = await insertStory(db);
    const { rows } = await db.query<{ id: string }>(`INSERT INTO characters (story_id, name) VALUES ($1, 'Ada') RETURNING id`, [story]);
    const character = rows[0]!.id;
    const bad = [
      db.query(`INSERT INTO character_relationships (story_id, character_id, trust) VALUES ($1, $2, 1.01)`, [story, character]),
      db.query(`INSERT INTO character_relationships (story_id, character_id, familiarity) VALUES ($1, $2, -0.1)`, [story, character]),
      db.query(`INSERT INTO character_relationships (story_id, character_id, sentiment) VALUES ($1, $2, -1.5)`, [story, character]),
      db.query(`INSERT INTO character_memories (story_id, character_id, kind, content, emotional_valence) VALUES ($1, $2, 'thought', 'x', 2)`, [story, character]),
      db.query(`INSERT INTO character_memories (story_id, character_id, kind, content, importance) VALUES ($1, $2, 'thought', 'x', 1.5)`, [story, character]),
    ];
    const { fulfilled, errors } = await settle(bad);
    expect(fulfilled).toBe(0);
    expect(errors.every((e) => e.code === '23514')).toBe(true);
  });
});
