import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, readMigrations, type Database } from '../../src/db/index.js';
import { openEmbeddedDatabase } from '../../src/db/index.js';
import { testTransactionDefaults } from '../helpers/db.js';
import { insertScene, insertStory } from '../helpers/fixtures.js';

/**
 * Migration 0013 gives each summary written before it the scene it was made at: the scene its
 * turn wrote in the same transaction (same timestamp). One that matches nothing is dropped.
 */
describe('summaries written before 0013 are keyed by the scene they were made at', () => {
  let db: Database;
  beforeAll(async () => {
    db = await openEmbeddedDatabase({ dataDir: undefined, transactionDefaults: testTransactionDefaults });
    await migrate(db, readMigrations().filter((migration) => migration.version < 13));
  }, 60_000);
  afterAll(async () => db.close());

  it('matches each summary to the scene made with it and drops one that matches no scene', async () => {
    const storyId = await insertStory(db);
    const scenes: string[] = [];
    let parent: string | null = null;
    for (let n = 1; n <= 8; n++) {
      parent = await insertScene(db, storyId, parent, `Scene ${n}.`);
      scenes.push(parent);
    }
    // Old turns were transactions of their own, far apart; PGlite's clock ticks in milliseconds,
    // and inserts this quick can share one, which would make the match ambiguous.
    await db.query(`UPDATE scenes SET created_at = '2026-01-01'::timestamptz + scene_number * interval '1 minute' WHERE story_id = $1`, [storyId]);
    // As the old turns did: the summary through scene 3 stored with scene 7, through 4 with scene 8.
    const at = async (sceneId: string) => (await db.query<{ created_at: string }>(`SELECT created_at::text FROM scenes WHERE id = $1`, [sceneId])).rows[0]!.created_at;
    await db.query(`INSERT INTO memories (story_id, kind, through_scene_number, content, created_at) VALUES ($1, 'summary', 3, 'through three', $2::timestamptz)`, [storyId, await at(scenes[6]!)]);
    await db.query(`INSERT INTO memories (story_id, kind, through_scene_number, content, created_at) VALUES ($1, 'summary', 4, 'through four', $2::timestamptz)`, [storyId, await at(scenes[7]!)]);
    await db.query(`INSERT INTO memories (story_id, kind, through_scene_number, content) VALUES ($1, 'summary', 8, 'beyond every scene')`, [storyId]);
    await migrate(db);
    const { rows } = await db.query<{ content: string; scene_id: string }>(`SELECT content, scene_id FROM memories WHERE story_id = $1 AND kind = 'summary' ORDER BY through_scene_number`, [storyId]);
    expect(rows).toEqual([
      { content: 'through three', scene_id: scenes[6] },
      { content: 'through four', scene_id: scenes[7] },
    ]);
  });
});
