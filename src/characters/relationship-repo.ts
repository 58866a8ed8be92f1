import type { Queryable } from '../db/index.js';
import { adjustRelationshipAt, readRelationshipsAt, type RelationshipAtScene, type RelationshipChangeAtScene, type WorldEventSource } from '../world/index.js';

/** A relationship as it stands at one scene (relationships follow the story tree). */
export type Relationship = RelationshipAtScene;

export interface RelationshipAdjustment extends RelationshipChangeAtScene {
  storyId: string;
  /** The scene the change belongs to: the new scene in a turn, the head for a talk. */
  sceneId: string;
  source?: WorldEventSource;
}

/** Applies deltas at a scene in one upsert; see adjustRelationshipAt (invariant 6). */
export async function adjustRelationship(tx: Queryable, adjustment: RelationshipAdjustment): Promise<Relationship> {
  const { source, ...rest } = adjustment;
  return adjustRelationshipAt(tx, { ...rest, source: source ?? 'scene' });
}

/** A character's relationships at a scene, the player's first, with the other character's name. */
export async function listRelationships(db: Queryable, storyId: string, characterId: string, sceneId: string | null): Promise<Relationship[]> {
  return readRelationshipsAt(db, storyId, sceneId, { characterIds: [characterId] });
}

/** The relationships of several characters with the player at a scene, keyed by character id. */
export async function playerRelationships(db: Queryable, storyId: string, characterIds: string[], sceneId: string | null): Promise<Map<string, Relationship>> {
  if (characterIds.length === 0) return new Map();
  const rows = await readRelationshipsAt(db, storyId, sceneId, { characterIds, playerOnly: true });
  return new Map(rows.map((row) => [row.characterId, row]));
}
