import type { Queryable } from '../db/index.js';
import { isUniqueViolation, measureLockWait } from '../db/index.js';
import { AppError } from '../errors.js';
import { getLogger } from '../logger.js';
import { cleanCharacterName } from './character-name.js';

export interface EmotionalState {
  valence: number;
  arousal: number;
  dominance: number;
}

export interface Character {
  id: string;
  storyId: string;
  name: string;
  nameKey: string;
  description: string;
  personality: string;
  goals: string;
  background: string;
  mood: string;
  emotion: EmotionalState;
  metadata: Record<string, unknown>;
  firstSceneId: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

interface CharacterRow {
  id: string;
  story_id: string;
  name: string;
  name_key: string;
  description: string;
  personality: string;
  goals: string;
  background: string;
  mood: string;
  emotion_valence: number;
  emotion_arousal: number;
  emotion_dominance: number;
  metadata: Record<string, unknown>;
  first_scene_id: string | null;
  version: number | string;
  created_at: Date | string;
  updated_at: Date | string;
}

export const characterColumns = `id, story_id, name, name_key, description, personality, goals, background, mood,
  emotion_valence, emotion_arousal, emotion_dominance, metadata, first_scene_id, version, created_at, updated_at`;

export function toCharacter(row: CharacterRow): Character {
  return {
    id: row.id,
    storyId: row.story_id,
    name: row.name,
    nameKey: row.name_key,
    description: row.description,
    personality: row.personality,
    goals: row.goals,
    background: row.background,
    mood: row.mood,
    emotion: { valence: row.emotion_valence, arousal: row.emotion_arousal, dominance: row.emotion_dominance },
    metadata: row.metadata,
    firstSceneId: row.first_scene_id,
    version: Number(row.version),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

export interface NewCharacterFields {
  description?: string;
  personality?: string;
  goals?: string;
  firstSceneId?: string;
}

export interface GetOrCreateResult {
  character: Character;
  created: boolean;
  /** Found only after waiting for the lock: another transaction created it meanwhile. */
  createdConcurrently: boolean;
}

async function findByNameKey(db: Queryable, storyId: string, name: string): Promise<Character | undefined> {
  const { rows } = await db.query<CharacterRow>(
    `SELECT ${characterColumns} FROM characters WHERE story_id = $1 AND name_key = lw_name_key($2)`,
    [storyId, name],
  );
  return rows[0] ? toCharacter(rows[0]) : undefined;
}

/**
 * The transaction-scoped lock every writer of a character name takes (get-or-create, card
 * import): one key per (story, normalised name), so concurrent creators queue and re-check.
 */
export async function lockCharacterName(tx: Queryable, storyId: string, name: string): Promise<void> {
  await measureLockWait('character', () =>
    tx.query(`SELECT pg_advisory_xact_lock(hashtextextended($1::text || ':' || lw_name_key($2), 0))`, [storyId, name]),
  );
}

/**
 * One character per (story, normalised name), however many transactions race (DESIGN §5):
 * a transaction-scoped advisory lock on the pair serialises creators, the re-check after it
 * sees a character committed meanwhile, and the unique index is the final guard. The first
 * spelling is kept for display. Call it inside the caller's transaction; when creating several
 * characters, call it in name-key order so two transactions never wait on each other's locks.
 */
export async function getOrCreateCharacter(
  tx: Queryable,
  input: { storyId: string; name: string } & NewCharacterFields,
): Promise<GetOrCreateResult> {
  const verdict = cleanCharacterName(input.name);
  if (!('name' in verdict)) throw new AppError('validation', `Not a usable character name: ${verdict.reason}.`);
  const name = verdict.name;

  const existing = await findByNameKey(tx, input.storyId, name);
  if (existing) return { character: existing, created: false, createdConcurrently: false };
  return createUnderNameLock(tx, { ...input, name });
}

/** The part of get-or-create after a first look found no such character: lock the name, look again, insert. */
async function createUnderNameLock(tx: Queryable, input: { storyId: string; name: string } & NewCharacterFields): Promise<GetOrCreateResult> {
  const name = input.name;
  await lockCharacterName(tx, input.storyId, name);
  // READ COMMITTED: this statement sees whatever the lock holder before us committed.
  const createdMeanwhile = await findByNameKey(tx, input.storyId, name);
  if (createdMeanwhile) {
    getLogger().debug({ storyId: input.storyId, characterId: createdMeanwhile.id }, 'character created by another transaction');
    return { character: createdMeanwhile, created: false, createdConcurrently: true };
  }

  // DO NOTHING rather than an error: a writer that skipped the lock (an import, say) must not
  // abort the caller's whole turn; its row is then simply the one we return.
  const { rows } = await tx.query<CharacterRow>(
    `INSERT INTO characters (story_id, name, description, personality, goals, first_scene_id)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT ON CONSTRAINT characters_story_name_key_unique DO NOTHING
     RETURNING ${characterColumns}`,
    [
      input.storyId,
      name,
      (input.description ?? '').slice(0, 4000),
      (input.personality ?? '').slice(0, 4000),
      (input.goals ?? '').slice(0, 4000),
      input.firstSceneId ?? null,
    ],
  );
  if (rows[0]) return { character: toCharacter(rows[0]), created: true, createdConcurrently: false };
  const guarded = await findByNameKey(tx, input.storyId, name);
  if (!guarded) throw new AppError('internal', 'A character vanished between insert and read.');
  getLogger().debug({ storyId: input.storyId, characterId: guarded.id }, 'character created by a writer outside the lock');
  return { character: guarded, created: false, createdConcurrently: true };
}

/**
 * getOrCreateCharacter for several names (already in name-key order): the ones that exist are
 * found in one statement; only the new ones take the name lock and are created one by one, in
 * the given order, so the lock order stays the name-key order.
 */
export async function getOrCreateCharacters(
  tx: Queryable,
  storyId: string,
  inputs: ({ name: string } & NewCharacterFields)[],
): Promise<GetOrCreateResult[]> {
  const existing = await findCharactersByNames(tx, storyId, inputs.map((input) => input.name));
  const results: GetOrCreateResult[] = [];
  for (const input of inputs) {
    const found = existing.get(input.name);
    if (found) {
      results.push({ character: found, created: false, createdConcurrently: false });
      continue;
    }
    // The batch read above was the first look: a name not found there goes straight to its lock.
    const verdict = cleanCharacterName(input.name);
    if (!('name' in verdict)) throw new AppError('validation', `Not a usable character name: ${verdict.reason}.`);
    results.push(await createUnderNameLock(tx, { storyId, ...input, name: verdict.name }));
  }
  return results;
}

/** The story's characters that answer to these names (as lw_name_key compares them), keyed by the name asked for. */
export async function findCharactersByNames(db: Queryable, storyId: string, names: readonly string[]): Promise<Map<string, Character>> {
  if (names.length === 0) return new Map();
  const { rows } = await db.query<CharacterRow & { asked: string }>(
    `SELECT n.asked, ${characterColumns.replace(/(\w+)/g, 'c.$1')}
       FROM unnest($2::text[]) AS n(asked) JOIN characters c ON c.story_id = $1 AND c.name_key = lw_name_key(n.asked)`,
    [storyId, [...new Set(names)]],
  );
  return new Map(rows.map((row) => [row.asked, toCharacter(row)]));
}

export async function listCharacters(db: Queryable, storyId: string): Promise<Character[]> {
  const { rows } = await db.query<CharacterRow>(
    `SELECT ${characterColumns} FROM characters WHERE story_id = $1 ORDER BY created_at, name_key`,
    [storyId],
  );
  return rows.map(toCharacter);
}

export async function findCharacter(db: Queryable, characterId: string): Promise<Character | undefined> {
  const { rows } = await db.query<CharacterRow>(`SELECT ${characterColumns} FROM characters WHERE id = $1`, [characterId]);
  return rows[0] ? toCharacter(rows[0]) : undefined;
}

export async function getCharacter(db: Queryable, characterId: string): Promise<Character> {
  const character = await findCharacter(db, characterId);
  if (!character) throw new AppError('not_found', `No character with id ${characterId}.`);
  return character;
}

export async function findCharacterByName(db: Queryable, storyId: string, name: string): Promise<Character | undefined> {
  return findByNameKey(db, storyId, name);
}

/** The fields `PATCH /api/characters/:id` may change. */
export interface CharacterPatch {
  name?: string;
  description?: string;
  personality?: string;
  goals?: string;
  background?: string;
  mood?: string;
}

const patchLimits: Record<keyof CharacterPatch, number> = {
  name: 100,
  description: 4000,
  personality: 4000,
  goals: 4000,
  background: 8000,
  mood: 100,
};

export function validatePatch(patch: CharacterPatch): CharacterPatch {
  const clean: CharacterPatch = {};
  for (const field of Object.keys(patchLimits) as (keyof CharacterPatch)[]) {
    const value = patch[field];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw new AppError('validation', `${field} must be a string.`);
    if (value.length > patchLimits[field]) throw new AppError('validation', `${field} is longer than ${patchLimits[field]} characters.`);
    clean[field] = value;
  }
  if (clean.name !== undefined) {
    const verdict = cleanCharacterName(clean.name);
    if (!('name' in verdict)) throw new AppError('validation', `Not a usable character name: ${verdict.reason}.`);
    clean.name = verdict.name;
  }
  return clean;
}

