import type { Queryable } from '../db/index.js';

export interface Relationship {
  id: string;
  storyId: string;
  characterId: string;
  /** null: the relationship with the player. */
  targetCharacterId: string | null;
  targetName: string | null;
  sentiment: number;
  trust: number;
  familiarity: number;
  type: string;
  interactionCount: number;
  updatedAt: Date;
}

interface RelationshipRow {
  id: string;
  story_id: string;
  character_id: string;
  target_character_id: string | null;
  target_name?: string | null;
  sentiment: number;
  trust: number;
  familiarity: number;
  type: string;
  interaction_count: number;
  updated_at: Date | string;
}

function toRelationship(row: RelationshipRow): Relationship {
  return {
    id: row.id,
    storyId: row.story_id,
    characterId: row.character_id,
    targetCharacterId: row.target_character_id,
    targetName: row.target_name ?? null,
    sentiment: row.sentiment,
    trust: row.trust,
    familiarity: row.familiarity,
    type: row.type,
    interactionCount: row.interaction_count,
    updatedAt: new Date(row.updated_at),
  };
}

export interface RelationshipAdjustment {
  storyId: string;
  characterId: string;
  /** null for the player. */
  targetCharacterId: string | null;
  sentimentDelta?: number;
  trustDelta?: number;
  familiarityDelta?: number;
  type?: string;
}

function finiteOrZero(value: number | undefined): number {
  return typeof value === 'number' && Number.isFinite(value) ? Math.max(-1, Math.min(1, value)) : 0;
}

/**
 * Applies deltas in one upsert, so concurrent adjustments add up instead of overwriting each
 * other (invariant 6); each value is clamped to its range and rounded to 6 decimals so that
 * float4 drift cannot leave twenty +0.05 steps at 0.99999994. Counts one interaction.
 */
export async function adjustRelationship(tx: Queryable, adjustment: RelationshipAdjustment): Promise<Relationship> {
  const type = adjustment.type?.trim().slice(0, 50) || null;
  const { rows } = await tx.query<RelationshipRow>(
    `INSERT INTO character_relationships AS r
       (story_id, character_id, target_character_id, sentiment, trust, familiarity, type, interaction_count)
     VALUES ($1, $2, $3,
       LEAST(1, GREATEST(-1, round($4::numeric, 6))),
       LEAST(1, GREATEST(0, round($5::numeric, 6))),
       LEAST(1, GREATEST(0, round($6::numeric, 6))),
       COALESCE($7, 'acquaintance'), 1)
     ON CONFLICT (story_id, character_id, target_character_id) DO UPDATE SET
       sentiment = LEAST(1, GREATEST(-1, round(r.sentiment::numeric + $4::numeric, 6))),
       trust = LEAST(1, GREATEST(0, round(r.trust::numeric + $5::numeric, 6))),
       familiarity = LEAST(1, GREATEST(0, round(r.familiarity::numeric + $6::numeric, 6))),
       type = COALESCE($7, r.type),
       interaction_count = r.interaction_count + 1,
       updated_at = now()
     RETURNING r.*`,
    [
      adjustment.storyId,
      adjustment.characterId,
      adjustment.targetCharacterId,
      finiteOrZero(adjustment.sentimentDelta),
      finiteOrZero(adjustment.trustDelta),
      finiteOrZero(adjustment.familiarityDelta),
      type,
    ],
  );
  return toRelationship(rows[0]!);
}

/** A character's relationships, the player's first, with the other character's name. */
export async function listRelationships(db: Queryable, storyId: string, characterId: string): Promise<Relationship[]> {
  const { rows } = await db.query<RelationshipRow>(
    `SELECT r.*, t.name AS target_name
     FROM character_relationships r
     LEFT JOIN characters t ON t.story_id = r.story_id AND t.id = r.target_character_id
     WHERE r.story_id = $1 AND r.character_id = $2
     ORDER BY r.target_character_id IS NOT NULL, t.name`,
    [storyId, characterId],
  );
  return rows.map(toRelationship);
}

/** The relationships of several characters with the player, keyed by character id. */
export async function playerRelationships(db: Queryable, storyId: string, characterIds: string[]): Promise<Map<string, Relationship>> {
  if (characterIds.length === 0) return new Map();
  const { rows } = await db.query<RelationshipRow>(
    `SELECT * FROM character_relationships
     WHERE story_id = $1 AND character_id = ANY($2::uuid[]) AND target_character_id IS NULL`,
    [storyId, characterIds],
  );
  return new Map(rows.map((row) => [row.character_id, toRelationship(row)]));
}
