import type { Queryable } from '../db/index.js';
import { AppError } from '../errors.js';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The scene a world read is taken at: `at` when given (it must be a scene of the story),
 * else the story's head (null before the opening scene).
 */
export async function resolveSceneInStory(db: Queryable, storyId: string, at?: string | null): Promise<string | null> {
  if (at === undefined || at === null || at === '') {
    const { rows } = await db.query<{ head_scene_id: string | null }>(`SELECT head_scene_id FROM stories WHERE id = $1`, [storyId]);
    if (!rows[0]) throw new AppError('not_found', `No story with id ${storyId}.`, { details: { storyId } });
    return rows[0].head_scene_id;
  }
  const found = uuidPattern.test(at)
    ? (await db.query(`SELECT 1 FROM scenes WHERE story_id = $1 AND id = $2`, [storyId, at])).rows.length > 0
    : false;
  if (!found) throw new AppError('not_found', `No scene ${at} in this story.`, { details: { field: 'at', storyId } });
  return at;
}
