import { runStatementParts, statementPart, type Queryable, type StatementPart } from '../db/index.js';
import { headPathCte } from '../world/scene-path.js';
import type { LoreOptions } from './lore-options.js';

/**
 * Lore timed effects (SillyTavern's sticky and cooldown), counted in scenes along the path to
 * the head. Nothing is kept as a counter: which entries each scene's prompt held is recorded
 * with the scene (scene_lore_activations), and the state for the next scene is replayed from
 * the path, so that a regeneration, a rewind or another branch sees only its own past.
 *
 * An entry activated afresh for scene n (not carried by its own sticky) with sticky S stays
 * in the prompts of scenes n+1 … n+S whatever its keys or probability; with cooldown C it
 * then cannot be activated for the C scenes after that (after n itself when S is 0).
 * Activations while sticky do not extend it.
 */
export interface TimedLore {
  sticky: ReadonlySet<string>;
  cooldown: ReadonlySet<string>;
}

export const noTimedLore: TimedLore = Object.freeze({ sticky: new Set<string>(), cooldown: new Set<string>() });

/** One scene of the path and the lore entries its prompt held. */
export interface PathActivations {
  sceneNumber: number;
  loreEntryIds: readonly string[];
}

/** The timed state for the scene numbered `nextSceneNumber`, from the path before it (any order). */
export function timedLoreAt(
  entries: readonly (Pick<LoreOptions, 'sticky' | 'cooldown'> & { id: string })[],
  path: readonly PathActivations[],
  nextSceneNumber: number,
): TimedLore {
  const timedEntries = entries.filter((entry) => entry.sticky > 0 || entry.cooldown > 0);
  if (timedEntries.length === 0 || path.length === 0) return noTimedLore;
  const ordered = [...path].sort((a, b) => a.sceneNumber - b.sceneNumber).map((scene) => ({ sceneNumber: scene.sceneNumber, ids: new Set(scene.loreEntryIds) }));
  const sticky = new Set<string>();
  const cooldown = new Set<string>();
  for (const entry of timedEntries) {
    let stickyThrough = -Infinity;
    let cooldownThrough = -Infinity;
    for (const scene of ordered) {
      if (scene.sceneNumber >= nextSceneNumber) break;
      if (!scene.ids.has(entry.id) || scene.sceneNumber <= stickyThrough) continue;
      stickyThrough = entry.sticky > 0 ? scene.sceneNumber + entry.sticky : -Infinity;
      cooldownThrough = entry.cooldown > 0 ? scene.sceneNumber + entry.sticky + entry.cooldown : -Infinity;
    }
    if (nextSceneNumber <= stickyThrough) sticky.add(entry.id);
    else if (nextSceneNumber <= cooldownThrough) cooldown.add(entry.id);
  }
  return { sticky, cooldown };
}

/**
 * The lore activations of the path from the root to `sceneId`. As in SillyTavern, editing an
 * entry ends its timed effects: activations in scenes written before its last change do not count.
 */
export async function loadPathActivations(db: Queryable, storyId: string, sceneId: string): Promise<PathActivations[]> {
  const { rows } = await db.query<{ scene_number: number; ids: string[] }>(
    `${headPathCte('$1', '$2')}
     SELECT p.scene_number, array_agg(a.lore_entry_id::text) AS ids
       FROM head_path p
       JOIN scene_lore_activations a ON a.story_id = $1 AND a.scene_id = p.id
       JOIN scenes s ON s.story_id = $1 AND s.id = p.id
       JOIN lore_entries l ON l.story_id = $1 AND l.id = a.lore_entry_id
      WHERE s.created_at >= l.updated_at
      GROUP BY p.scene_number`,
    [storyId, sceneId],
  );
  return rows.map((row) => ({ sceneNumber: Number(row.scene_number), loreEntryIds: row.ids }));
}

/**
 * Records which lore entries a scene's prompt held; in the transaction that writes the scene.
 * The entries are key-share locked first: one deleted meanwhile is skipped (a committed
 * delete hides the row, an uncommitted one is waited for), so the turn never fails on it.
 */
export async function recordLoreActivations(tx: Queryable, storyId: string, sceneId: string, loreEntryIds: readonly string[]): Promise<void> {
  await runStatementParts(tx, loreActivationParts(storyId, sceneId, loreEntryIds));
}

/** recordLoreActivations as parts of another statement (the scene's insert); none when nothing was activated. */
export function loreActivationParts(storyId: string, sceneId: string, loreEntryIds: readonly string[]): StatementPart[] {
  if (loreEntryIds.length === 0) return [];
  return [
    statementPart(
      `INSERT INTO scene_lore_activations (story_id, scene_id, lore_entry_id)
       SELECT $1, $2, l.id FROM lore_entries l WHERE l.story_id = $1 AND l.id = ANY($3::uuid[]) FOR KEY SHARE
       ON CONFLICT DO NOTHING`,
      [storyId, sceneId, [...new Set(loreEntryIds)]],
    ),
  ];
}
