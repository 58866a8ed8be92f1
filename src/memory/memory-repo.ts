import { headPathCte } from '../world/scene-path.js';
import { runStatementParts, statementPart, type Queryable, type StatementPart } from '../db/index.js';
import { optionalEmbeddingParam } from './embedding-param.js';

/**
 * Inserts and updates of embedded rows. Embeddings are passed as `$n::real[]` (embeddingParam),
 * which both column types accept (see VectorStore), so these need not know the backend.
 */

export type CharacterMemoryKind = 'observation' | 'thought' | 'action' | 'reaction' | 'conversation' | 'reflection' | 'told';

export interface NewCharacterMemory {
  storyId: string;
  characterId: string;
  sceneId: string | null;
  kind: CharacterMemoryKind;
  content: string;
  /** -1..1 */
  emotionalValence: number;
  /** 0..1 */
  importance: number;
  embedding: number[] | null;
  /** A reflection's grounds: the memories it was drawn from. */
  evidenceMemoryIds?: string[];
}

const clamp = (value: number, min: number, max: number) => (Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : 0);

/** Inserts several character memories in one statement. */
export async function insertCharacterMemories(tx: Queryable, memories: NewCharacterMemory[]): Promise<void> {
  if (memories.length === 0) return;
  await runStatementParts(tx, [characterMemoriesPart(memories)]);
}

/** insertCharacterMemories as a part of another statement (a scene's meeting of its characters). */
export function characterMemoriesPart(memories: NewCharacterMemory[]): StatementPart {
  const params: unknown[] = [];
  const values = memories.map((memory) => {
    const base = params.length;
    params.push(
      memory.storyId,
      memory.characterId,
      memory.sceneId,
      memory.kind,
      memory.content.slice(0, 8000),
      clamp(memory.emotionalValence, -1, 1),
      clamp(memory.importance, 0, 1),
      optionalEmbeddingParam(memory.embedding),
      memory.evidenceMemoryIds ?? [],
    );
    const p = (i: number) => `$${base + i}`;
    return `(${p(1)}::uuid, ${p(2)}::uuid, ${p(3)}::uuid, ${p(4)}, ${p(5)}, ${p(6)}::real, ${p(7)}::real, ${p(8)}::real[], ${p(9)}::uuid[])`;
  });
  return statementPart(
    `INSERT INTO character_memories (story_id, character_id, scene_id, kind, content, emotional_valence, importance, embedding, evidence_memory_ids)
     VALUES ${values.join(', ')}`,
    params,
  );
}

export interface NewStoryMemory {
  storyId: string;
  kind: 'scene' | 'summary' | 'fact';
  sceneId: string | null;
  throughSceneNumber: number | null;
  content: string;
  importance: number;
  embedding: number[] | null;
}

export async function insertStoryMemory(tx: Queryable, memory: NewStoryMemory): Promise<string> {
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO memories (story_id, kind, scene_id, through_scene_number, content, importance, embedding)
     VALUES ($1, $2, $3, $4, $5, $6, $7::real[]) RETURNING id`,
    storyMemoryValues(memory),
  );
  return rows[0]!.id;
}

/** A story memory's column values, in the order both inserts name the columns. */
function storyMemoryValues(memory: NewStoryMemory): unknown[] {
  return [memory.storyId, memory.kind, memory.sceneId, memory.throughSceneNumber, memory.content.slice(0, 20000), clamp(memory.importance, 0, 1), optionalEmbeddingParam(memory.embedding)];
}

/** Inserts several story memories in one statement (a turn's scene digest and its summary). */
export async function insertStoryMemories(tx: Queryable, memories: NewStoryMemory[]): Promise<void> {
  await runStatementParts(tx, storyMemoryParts(memories));
}

/** insertStoryMemories as parts of another statement (the scene's insert). */
export function storyMemoryParts(memories: NewStoryMemory[]): StatementPart[] {
  if (memories.length === 0) return [];
  const params: unknown[] = [];
  const values = memories.map((memory) => {
    const base = params.length;
    params.push(...storyMemoryValues(memory));
    const p = (i: number) => `$${base + i}`;
    return `(${p(1)}::uuid, ${p(2)}, ${p(3)}::uuid, ${p(4)}::int, ${p(5)}, ${p(6)}::real, ${p(7)}::real[])`;
  });
  return [statementPart(`INSERT INTO memories (story_id, kind, scene_id, through_scene_number, content, importance, embedding) VALUES ${values.join(', ')}`, params)];
}

export async function setSceneEmbedding(tx: Queryable, storyId: string, sceneId: string, embedding: number[] | null): Promise<void> {
  await tx.query(`UPDATE scenes SET embedding = $3::real[] WHERE story_id = $1 AND id = $2`, [storyId, sceneId, optionalEmbeddingParam(embedding)]);
}

export async function insertUserInstruction(tx: Queryable, input: NewUserInstruction): Promise<void> {
  await runStatementParts(tx, [userInstructionPart(input)]);
}

export interface NewUserInstruction {
  storyId: string;
  sceneId: string;
  turnId: string | null;
  content: string;
  embedding: number[] | null;
}

/** insertUserInstruction as a part of another statement (the scene's insert). */
export function userInstructionPart(input: NewUserInstruction): StatementPart {
  return statementPart(`INSERT INTO user_instructions (story_id, scene_id, turn_id, content, embedding) VALUES ($1, $2, $3, $4, $5::real[])`, [
    input.storyId,
    input.sceneId,
    input.turnId,
    input.content.slice(0, 2000),
    optionalEmbeddingParam(input.embedding),
  ]);
}

export interface CharacterMemory {
  id: string;
  characterId: string;
  sceneId: string | null;
  kind: CharacterMemoryKind;
  content: string;
  emotionalValence: number;
  importance: number;
  lastAccessedAt: Date;
  createdAt: Date;
}

export interface CharacterMemoryRow {
  id: string;
  character_id: string;
  scene_id: string | null;
  kind: CharacterMemoryKind;
  content: string;
  emotional_valence: number;
  importance: number;
  last_accessed_at: Date | string;
  created_at: Date | string;
}

/**
 * Marks memories as just recalled (the recency of the retrieval score). Recency decays per
 * hour (0.995), so a memory recalled again within minutes keeps its time: rewriting it would
 * move its score by less than a ranking can tell apart, and each rewrite is a new row version
 * with its embedding and every index entry (HNSW included) written again. `$story` and `$ids`
 * are the parameter names of the story id and the memory ids (uuid[]).
 */
export function touchCharacterMemoriesSql(storyParam: string, idsParam: string): string {
  return `UPDATE character_memories SET last_accessed_at = now()
    WHERE story_id = ${storyParam} AND id = ANY(${idsParam}::uuid[]) AND last_accessed_at < now() - interval '10 minutes'`;
}

export function toCharacterMemory(row: CharacterMemoryRow): CharacterMemory {
  return {
    id: row.id,
    characterId: row.character_id,
    sceneId: row.scene_id,
    kind: row.kind,
    content: row.content,
    emotionalValence: row.emotional_valence,
    importance: row.importance,
    lastAccessedAt: new Date(row.last_accessed_at),
    createdAt: new Date(row.created_at),
  };
}

/** A character's memories, newest first, for display (thoughts only when asked for). */
export async function listCharacterMemories(
  db: Queryable,
  input: { storyId: string; characterId: string; limit?: number; includeThoughts?: boolean; atSceneId?: string | null },
): Promise<CharacterMemory[]> {
  // At a scene: only what the character lived on that scene's path (and memories of no scene).
  const atScene = input.atSceneId !== undefined;
  const { rows } = await db.query<CharacterMemoryRow>(
    `${atScene ? headPathCte('$1', '$5') : ''}
     SELECT id, character_id, scene_id, kind, content, emotional_valence, importance, last_accessed_at, created_at
     FROM character_memories
     WHERE story_id = $1 AND character_id = $2 AND ($3 OR kind <> 'thought')
       ${atScene ? 'AND (scene_id IS NULL OR scene_id IN (SELECT id FROM head_path))' : ''}
     ORDER BY created_at DESC, id
     LIMIT $4`,
    [input.storyId, input.characterId, input.includeThoughts ?? false, input.limit ?? 50, ...(atScene ? [input.atSceneId] : [])],
  );
  return rows.map(toCharacterMemory);
}

export interface CharacterReflection {
  id: string;
  sceneId: string | null;
  content: string;
  importance: number;
  createdAt: Date;
  /** The memories the conclusion rests on (those still kept). */
  evidence: { id: string; kind: CharacterMemoryKind; content: string }[];
}

/** A character's reflections along the path to `atSceneId`, newest first, each with its evidence. */
export async function listCharacterReflections(
  db: Queryable,
  input: { storyId: string; characterId: string; atSceneId: string | null; limit?: number },
): Promise<CharacterReflection[]> {
  if (input.atSceneId === null) return [];
  const { rows } = await db.query<{ id: string; scene_id: string | null; content: string; importance: number; created_at: Date | string; evidence: { id: string; kind: CharacterMemoryKind; content: string }[] | null }>(
    `${headPathCte('$1', '$3')}
     SELECT r.id, r.scene_id, r.content, r.importance, r.created_at,
            (SELECT json_agg(json_build_object('id', e.id, 'kind', e.kind, 'content', e.content) ORDER BY e.created_at)
               FROM character_memories e WHERE e.story_id = r.story_id AND e.id = ANY(r.evidence_memory_ids)) AS evidence
       FROM character_memories r
      WHERE r.story_id = $1 AND r.character_id = $2 AND r.kind = 'reflection' AND (r.scene_id IS NULL OR r.scene_id IN (SELECT id FROM head_path))
      ORDER BY r.created_at DESC, r.id
      LIMIT $4`,
    [input.storyId, input.characterId, input.atSceneId, input.limit ?? 20],
  );
  return rows.map((row) => ({
    id: row.id,
    sceneId: row.scene_id,
    content: row.content,
    importance: Number(row.importance),
    createdAt: new Date(row.created_at),
    evidence: row.evidence ?? [],
  }));
}
