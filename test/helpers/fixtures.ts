import type { Queryable } from '../../src/db/index.js';

/** Small builders for raw rows; tests that exercise the engine go through its use cases instead. */
export async function insertStory(db: Queryable, fields: { title?: string; setting?: string } = {}): Promise<string> {
  const { rows } = await db.query<{ id: string }>('INSERT INTO stories (title, setting) VALUES ($1, $2) RETURNING id', [
    fields.title ?? 'A test story',
    fields.setting ?? 'A quiet harbour town',
  ]);
  return rows[0]!.id;
}

/** Inserts a scene (with one choice, as the schema requires) under `parentId` or as a root. */
export async function insertScene(db: Queryable, storyId: string, parentId: string | null, content = 'Fog rolls in.'): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `WITH parent AS (SELECT scene_number FROM scenes WHERE story_id = $1 AND id = $2),
     inserted AS (
       INSERT INTO scenes (story_id, parent_scene_id, parent_scene_number, scene_number, content)
       SELECT $1, $2, (SELECT scene_number FROM parent), COALESCE((SELECT scene_number FROM parent), 0) + 1, $3
       RETURNING id
     ),
     choice AS (
       INSERT INTO choices (story_id, scene_id, choice_number, content) SELECT $1, id, 1, 'Go on' FROM inserted
     )
     SELECT id FROM inserted`,
    [storyId, parentId, content],
  );
  return rows[0]!.id;
}
