import type pg from 'pg';
import { callApi, type ApiTarget } from './api-client.js';
import type { Violations } from './violations.js';

/**
 * With the load stopped, what the API says about a story must be what the database holds:
 * GET /api/stories/:id (head, version) and GET /api/stories/:id/scenes (every scene, the
 * head path marked) against SQL.
 */
export async function checkApiAgreesWithSql(pool: pg.Pool, targets: ApiTarget[], storyIds: string[], violations: Violations): Promise<number> {
  let checked = 0;
  for (const [index, storyId] of storyIds.entries()) {
    const target = targets[index % targets.length]!;
    const { rows: storyRows } = await pool.query<{ head_scene_id: string | null; version: number }>(
      `SELECT head_scene_id, version::int AS version FROM stories WHERE id = $1`,
      [storyId],
    );
    const { rows: sceneRows } = await pool.query<{ id: string; on_head_path: boolean }>(
      `WITH RECURSIVE path AS (
         SELECT sc.id, sc.parent_scene_id FROM stories s JOIN scenes sc ON sc.story_id = s.id AND sc.id = s.head_scene_id WHERE s.id = $1
         UNION ALL
         SELECT p.id, p.parent_scene_id FROM path JOIN scenes p ON p.story_id = $1 AND p.id = path.parent_scene_id)
       SELECT sc.id, EXISTS (SELECT 1 FROM path WHERE path.id = sc.id) AS on_head_path FROM scenes sc WHERE sc.story_id = $1`,
      [storyId],
    );
    const story = storyRows[0];
    const readStory = await callApi(target, { method: 'GET', path: `/api/stories/${storyId}`, timeoutMs: 20_000 });
    const readTree = await callApi(target, { method: 'GET', path: `/api/stories/${storyId}/scenes`, timeoutMs: 20_000 });
    if (!story) {
      if (readStory.status !== 404) violations.add('API shows a story SQL does not have', `${storyId}: ${readStory.status}`);
      continue;
    }
    checked++;
    if (readStory.status !== 200 || readTree.status !== 200) {
      violations.add('API cannot read a story', `${storyId}: story ${readStory.status}, scenes ${readTree.status}`);
      continue;
    }
    const apiStory = readStory.body.story;
    if (apiStory.headSceneId !== story.head_scene_id || apiStory.version !== story.version) {
      violations.add('GET story disagrees with SQL', `${storyId}: API head ${apiStory.headSceneId} v${apiStory.version}, SQL head ${story.head_scene_id} v${story.version}`);
    }
    if ((readStory.body.scene?.id ?? null) !== story.head_scene_id) violations.add('GET story head scene disagrees with SQL', storyId);
    const apiScenes = new Map(((readTree.body.scenes ?? []) as { id: string; onHeadPath: boolean }[]).map((s) => [s.id, s.onHeadPath]));
    const sqlScenes = new Map(sceneRows.map((s) => [s.id, s.on_head_path]));
    const same = apiScenes.size === sqlScenes.size && [...sqlScenes].every(([id, onPath]) => apiScenes.get(id) === onPath);
    if (!same || readTree.body.headSceneId !== story.head_scene_id || readTree.body.version !== story.version) {
      violations.add('GET scenes disagrees with SQL', `${storyId}: API ${apiScenes.size} scenes, SQL ${sqlScenes.size}`);
    }
  }
  return checked;
}
