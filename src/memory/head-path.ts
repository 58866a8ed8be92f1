import type { Queryable } from '../db/index.js';

/**
 * A `WITH RECURSIVE head_path (id, parent_scene_id, scene_number)` clause: the head scene and
 * its ancestors. Scenes on abandoned branches (regenerated or rewound away) never happened as
 * far as the story is concerned, so searches are confined to this path.
 */
export function headPathCte(storyParam: string, headParam: string): string {
  return `WITH RECURSIVE head_path AS (
      SELECT id, parent_scene_id, scene_number FROM scenes WHERE story_id = ${storyParam} AND id = ${headParam}
      UNION ALL
      SELECT s.id, s.parent_scene_id, s.scene_number
      FROM scenes s JOIN head_path p ON s.story_id = ${storyParam} AND s.id = p.parent_scene_id
    )`;
}

export interface PathScene {
  id: string;
  sceneNumber: number;
  content: string;
}

/** The newest `limit` scenes of the head path, oldest first. */
export async function loadRecentScenes(db: Queryable, storyId: string, headSceneId: string, limit: number): Promise<PathScene[]> {
  const { rows } = await db.query<{ id: string; scene_number: number; content: string }>(
    `WITH RECURSIVE head_path AS (
       SELECT id, parent_scene_id, scene_number, content, 1 AS depth FROM scenes WHERE story_id = $1 AND id = $2
       UNION ALL
       SELECT s.id, s.parent_scene_id, s.scene_number, s.content, p.depth + 1
       FROM scenes s JOIN head_path p ON s.story_id = $1 AND s.id = p.parent_scene_id
       WHERE p.depth < $3
     )
     SELECT id, scene_number, content FROM head_path ORDER BY scene_number`,
    [storyId, headSceneId, Math.max(1, limit)],
  );
  return rows.map((row) => ({ id: row.id, sceneNumber: row.scene_number, content: row.content }));
}
