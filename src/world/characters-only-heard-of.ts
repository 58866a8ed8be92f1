import type { Queryable } from '../db/index.js';
import { onPathSql, pathParam } from './scene-path.js';

/**
 * Of `characterIds`, present at the new scene `sceneId`, the ones whose description on its path
 * is still what was said of them before anyone met them: characters a scene created (a card's
 * or an import's description is the author's, not hearsay), never present at an earlier scene
 * of the path (every link was a mention, or there was none), whose description no edit on the
 * path has set. Their first appearance in person is when the model first describes them from
 * sight, so that description replaces the hearsay, at this scene only: the scenes before it
 * and the other branches keep theirs.
 *
 * `pathSceneIds` is the path of the new scene's parent, root first (empty for an opening
 * scene); the new scene's own links are not looked at. Run after branchWorldState, which sets
 * the new scene's `state_through_seq`: an edit made at the parent after the copy is not this
 * branch's.
 */
export async function findCharactersOnlyHeardOf(
  tx: Queryable,
  input: { storyId: string; sceneId: string; pathSceneIds: readonly string[]; characterIds: string[] },
): Promise<Set<string>> {
  if (input.characterIds.length === 0) return new Set();
  const path = pathParam(input.pathSceneIds);
  // Never present before on the path (scene_characters is indexed by character).
  const { rows: candidates } = await tx.query<{ id: string }>(
    `SELECT c.id FROM characters c
      WHERE c.story_id = $1 AND c.id = ANY($2::uuid[]) AND c.first_scene_id IS NOT NULL
        AND NOT EXISTS (
          SELECT 1 FROM scene_characters sc
           WHERE sc.story_id = $1 AND sc.character_id = c.id AND sc.role = 'present' AND sc.scene_id <> $3
             AND ${onPathSql('sc.scene_id', '$4')})`,
    [input.storyId, input.characterIds, input.sceneId, path],
  );
  const heardOf = new Set(candidates.map((row) => row.id));
  if (heardOf.size === 0 || input.pathSceneIds.length === 0) return heardOf;
  // Edits of their description on the path: at each scene, the events up to when the path
  // went on to its child there (the new scene for the parent).
  const { rows: edited } = await tx.query<{ character_id: string }>(
    `SELECT DISTINCT e.character_id
       FROM world_events e
       JOIN scenes child ON child.story_id = e.story_id AND child.parent_scene_id = e.scene_id
                        AND (child.id = $3 OR ${onPathSql('child.id', '$4')})
      WHERE e.story_id = $1 AND e.character_id = ANY($2::uuid[]) AND e.source = 'edit' AND e.op = 'update'
        AND e.payload #> '{set,description}' IS NOT NULL
        AND ${onPathSql('e.scene_id', '$4')} AND e.seq <= child.state_through_seq`,
    [input.storyId, [...heardOf], input.sceneId, path],
  );
  for (const row of edited) heardOf.delete(row.character_id);
  return heardOf;
}
