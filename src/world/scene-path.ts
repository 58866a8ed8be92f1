import type { Queryable } from '../db/index.js';

/**
 * The one place that knows the scene tree: a scene's path from the root (its ancestors and
 * itself), in SQL for the database and in memory for archives. Scenes off the path (regenerated
 * or rewound away, other branches) never happened as far as that scene is concerned.
 */

/**
 * A `WITH RECURSIVE <name> (id, parent_scene_id, scene_number)` clause: the scene and its
 * ancestors. `depthParam`, when given, keeps only the newest that many scenes.
 */
export function headPathCte(storyParam: string, headParam: string, options: { name?: string; depthParam?: string } = {}): string {
  const name = options.name ?? 'head_path';
  const depthLimit = options.depthParam ? `WHERE p.depth < ${options.depthParam}` : '';
  // Each step is one primary-key probe for the parent (a lateral lookup the LIMIT keeps from
  // being turned into a join): whatever the planner's statistics say — PGlite has no
  // autovacuum, so a story imported or played there is seen as a handful of rows, and a join
  // plan then scans the whole story at every step (O(scenes × depth): 600 ms at 800 scenes).
  return `WITH RECURSIVE ${name} AS (
      SELECT id, parent_scene_id, scene_number, state_through_seq, 1 AS depth FROM scenes WHERE story_id = ${storyParam} AND id = ${headParam}
      UNION ALL
      SELECT s.id, s.parent_scene_id, s.scene_number, s.state_through_seq, p.depth + 1
      FROM ${name} p CROSS JOIN LATERAL (
        SELECT id, parent_scene_id, scene_number, state_through_seq FROM scenes
         WHERE story_id = ${storyParam} AND id = p.parent_scene_id LIMIT 1
      ) s
      ${depthLimit}
    )`;
}

export interface PathScene {
  id: string;
  sceneNumber: number;
  content: string;
}

/** The newest `limit` scenes of the path to `headSceneId`, oldest first. */
export async function loadRecentScenes(db: Queryable, storyId: string, headSceneId: string, limit: number): Promise<PathScene[]> {
  const { rows } = await db.query<{ id: string; scene_number: number; content: string }>(
    `${headPathCte('$1', '$2', { depthParam: '$3' })}
     SELECT s.id, s.scene_number, s.content FROM head_path p JOIN scenes s ON s.story_id = $1 AND s.id = p.id ORDER BY s.scene_number`,
    [storyId, headSceneId, Math.max(1, limit)],
  );
  return rows.map((row) => ({ id: row.id, sceneNumber: row.scene_number, content: row.content }));
}

/**
 * A path loaded once and handed to every read that keeps only rows of that path (memories,
 * similar scenes, instructions), so that one turn walks the tree once, not once per read:
 * at 2,000 scenes each walk is some 1,500 index probes (bench/results, "world at scale").
 * Reads filter with `= ANY(ids)`, which PostgreSQL hashes.
 */
export interface LoadedPath {
  /** Root first, the scene itself last. */
  ids: string[];
  /** The newest scenes of the path with their prose, oldest first (as many as asked for). */
  recent: PathScene[];
}

/**
 * Paths already walked in this process, newest last (a small LRU). A scene's path never
 * changes (a scene keeps its parent; rewinds and branches add scenes, never move them), so an
 * entry is right for every process and for ever; a turn's new scene finds its parent's path
 * here and walks only the few scenes of the recent window.
 */
const knownPaths = new Map<string, readonly string[]>();
const knownPathLimit = 64;

function rememberPath(storyId: string, sceneId: string, ids: readonly string[]): void {
  const key = `${storyId}:${sceneId}`;
  knownPaths.delete(key);
  knownPaths.set(key, ids);
  if (knownPaths.size > knownPathLimit) knownPaths.delete(knownPaths.keys().next().value!);
}

/**
 * The whole path to `sceneId` with the prose of its newest `recentCount` scenes: a short walk
 * of the newest scenes, joined to a path this process knows already, else one full walk.
 */
export async function loadPath(db: Queryable, storyId: string, sceneId: string, recentCount: number): Promise<LoadedPath> {
  const window = Math.max(recentCount, 8);
  const walk = async (depth: number | null) =>
    (
      await db.query<{ id: string; parent_scene_id: string | null; scene_number: number; content: string | null }>(
        `${headPathCte('$1', '$2', depth === null ? {} : { depthParam: '$4' })}
         SELECT p.id, p.parent_scene_id, p.scene_number, s.content
           FROM head_path p
           LEFT JOIN LATERAL (SELECT content FROM scenes WHERE p.depth <= $3 AND story_id = $1 AND id = p.id LIMIT 1) s ON true
          ORDER BY p.scene_number`,
        [storyId, sceneId, Math.max(0, recentCount), ...(depth === null ? [] : [depth])],
      )
    ).rows;
  let rows = await walk(window);
  let ids: string[] | undefined;
  if (rows.length > 0 && rows[0]!.parent_scene_id === null) ids = rows.map((row) => row.id);
  for (let i = rows.length - 1; ids === undefined && i >= 0; i--) {
    const known = knownPaths.get(`${storyId}:${rows[i]!.id}`);
    if (known) ids = [...known, ...rows.slice(i + 1).map((row) => row.id)];
  }
  if (ids === undefined) {
    rows = await walk(null);
    ids = rows.map((row) => row.id);
  }
  if (ids.length > 0) rememberPath(storyId, sceneId, ids);
  return {
    ids,
    recent: rows.filter((row) => row.content !== null).map((row) => ({ id: row.id, sceneNumber: row.scene_number, content: row.content! })),
  };
}

/**
 * The parameter onPathSql reads: the path's ids as one comma-separated text. PostgreSQL
 * parses a uuid[] literal element by element, which at some 1,450 ids (a 2,000-scene story)
 * cost about 1 ms per read on the server and 2 ms on PGlite, and a turn makes seven such
 * reads; splitting one text was about 40 % cheaper on both (1,454 ids against 2,054 rows,
 * p50 of 300 alternating runs on this machine).
 * Lower-cased, as PostgreSQL prints a uuid, because the match is by text.
 */
export function pathParam(ids: readonly string[]): string {
  return ids.join(',').toLowerCase();
}

/**
 * SQL true when `column` is one of the path's ids given as the text parameter `param`
 * (pathParam of LoadedPath.ids). A sub-select, not `= ANY`: with the array as a constant
 * the planner estimated every element's selectivity, some 1,450 at 2,000 scenes, which cost
 * PGlite up to 10 ms of planning per read; the sub-select is hashed once at execution. The
 * `OR false`, folded away later, keeps it from being pulled up into a join, so that each
 * read keeps the plan of its own filter (an index order, a LIMIT). The column is compared as
 * text, so that the ids are never parsed as uuids at all.
 */
export function onPathSql(column: string, param: string): string {
  return `(${column}::text IN (SELECT unnest(string_to_array(${param}::text, ','))) OR false)`;
}

/** Ids of the path to `sceneId`, root first (empty when the scene is not in the story). */
export async function loadPathSceneIds(db: Queryable, storyId: string, sceneId: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(`${headPathCte('$1', '$2')} SELECT id FROM head_path ORDER BY scene_number`, [storyId, sceneId]);
  return rows.map((row) => row.id);
}

/** The path from the root to `leafId` through any tree held in memory, root first. */
export function pathInTree<T>(leafId: string | null, byId: ReadonlyMap<string, T>, parentOf: (node: T) => string | null): T[] {
  const path: T[] = [];
  const seen = new Set<string>();
  let id = leafId;
  while (id !== null && !seen.has(id)) {
    const node = byId.get(id);
    if (!node) break;
    seen.add(id);
    path.push(node);
    id = parentOf(node);
  }
  return path.reverse();
}
