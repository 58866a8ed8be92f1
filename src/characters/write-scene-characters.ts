import type { Queryable } from '../db/index.js';
import { getLogger } from '../logger.js';
import { insertCharacterMemories, insertStoryMemory, insertUserInstruction, setSceneEmbedding, type NewCharacterMemory } from '../memory/memory-repo.js';
import type { PreparedCharacter, PreparedSceneMemories } from '../memory/prepare-scene-memories.js';
import { characterNameKey, cleanCharacterName } from './character-name.js';
import { findCharacterByName, getOrCreateCharacter } from './character-repo.js';
import { adjustRelationship } from './relationship-repo.js';

export { prepareSceneMemories, type PreparedSceneMemories, type PrepareSceneMemoriesInput } from '../memory/prepare-scene-memories.js';

/**
 * Weight of the new reading in the exponentially smoothed emotional state: a single scene
 * moves a character's mood noticeably but does not replace it.
 */
export const emotionSmoothing = 0.35;

export interface WriteSceneMemoriesInput {
  storyId: string;
  sceneId: string;
  sceneNumber: number;
  turnId?: string;
  prepared: PreparedSceneMemories;
}

/**
 * The memory side of a turn's commit, run inside the engine's transaction after the scene row
 * exists: characters, their links to the scene, memories (only for those present: knowledge
 * isolation), mood, emotional state and relationships. Lock order: story (held by the caller)
 * → characters (in name-key order) → relationships. No embedding is computed here.
 */
export async function writeSceneMemories(tx: Queryable, input: WriteSceneMemoriesInput): Promise<{ charactersCreated: number }> {
  const { storyId, sceneId, prepared } = input;
  const log = getLogger().child({ storyId, sceneId });

  await setSceneEmbedding(tx, storyId, sceneId, prepared.sceneEmbedding);
  await insertStoryMemory(tx, {
    storyId,
    kind: 'scene',
    sceneId,
    throughSceneNumber: input.sceneNumber,
    content: prepared.digest.content,
    importance: prepared.digest.importance,
    embedding: prepared.digest.embedding,
  });
  if (prepared.instruction) {
    await insertUserInstruction(tx, {
      storyId,
      sceneId,
      turnId: input.turnId ?? null,
      content: prepared.instruction.content,
      embedding: prepared.instruction.embedding,
    });
  }

  const characters = usableCharacters(prepared.characters, log.debug.bind(log));
  let charactersCreated = 0;
  const idByKey = new Map<string, string>();
  for (const character of characters) {
    const result = await getOrCreateCharacter(tx, {
      storyId,
      name: character.name,
      firstSceneId: sceneId,
      ...(character.description === undefined ? {} : { description: character.description }),
      ...(character.personality === undefined ? {} : { personality: character.personality }),
      ...(character.goals === undefined ? {} : { goals: character.goals }),
    });
    if (result.created) charactersCreated++;
    idByKey.set(characterNameKey(character.name), result.character.id);
  }
  if (characters.length === 0) return { charactersCreated };

  const ids = characters.map((c) => idByKey.get(characterNameKey(c.name))!);
  await tx.query(
    `INSERT INTO scene_characters (story_id, scene_id, character_id, role, importance)
     SELECT $1, $2, u.character_id, u.role, u.importance
     FROM unnest($3::uuid[], $4::text[], $5::real[]) AS u(character_id, role, importance)
     ON CONFLICT (story_id, scene_id, character_id) DO NOTHING`,
    [storyId, sceneId, ids, characters.map((c) => c.role), characters.map((c) => c.sceneImportance)],
  );

  const present = characters.filter((c) => c.role === 'present');
  const memories: NewCharacterMemory[] = present.flatMap((character) =>
    character.memories.map((memory) => ({
      storyId,
      characterId: idByKey.get(characterNameKey(character.name))!,
      sceneId,
      kind: memory.kind,
      content: memory.content,
      emotionalValence: memory.emotionalValence,
      importance: memory.importance,
      embedding: memory.embedding,
    })),
  );
  await insertCharacterMemories(tx, memories);
  await updateMoods(tx, storyId, present, idByKey);

  for (const character of present) {
    const characterId = idByKey.get(characterNameKey(character.name))!;
    for (const change of character.relationships) {
      const targetCharacterId = change.targetName === null ? null : await resolveTarget(tx, storyId, change.targetName, idByKey);
      if (targetCharacterId === undefined) {
        log.debug({ character: character.name }, 'ignored relationship with a character not in the story');
        continue;
      }
      if (targetCharacterId === characterId) continue;
      await adjustRelationship(tx, {
        storyId,
        characterId,
        targetCharacterId,
        sentimentDelta: change.sentimentDelta,
        trustDelta: change.trustDelta,
        familiarityDelta: change.familiarityDelta,
        ...(change.type === undefined ? {} : { type: change.type }),
      });
    }
  }
  return { charactersCreated };
}

/** Drops what would fail a database check, and orders by name key (the lock order). */
function usableCharacters(characters: PreparedCharacter[], debug: (data: object, message: string) => void): PreparedCharacter[] {
  const byKey = new Map<string, PreparedCharacter>();
  for (const character of Array.isArray(characters) ? characters.slice(0, 100) : []) {
    const verdict = cleanCharacterName(character?.name);
    if (!('name' in verdict)) {
      debug({ reason: verdict.reason }, 'ignored character in scene write');
      continue;
    }
    const key = characterNameKey(verdict.name);
    if (key.length === 0 || byKey.has(key)) continue;
    byKey.set(key, { ...character, name: verdict.name });
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, character]) => character);
}

async function resolveTarget(tx: Queryable, storyId: string, name: string, idByKey: Map<string, string>): Promise<string | undefined> {
  const inScene = idByKey.get(characterNameKey(name));
  if (inScene) return inScene;
  return (await findCharacterByName(tx, storyId, name))?.id;
}

/**
 * Mood text and the smoothed emotional state of every present character in one UPDATE:
 * new = old + α·(reading − old), clamped to [-1, 1]; a missing reading keeps the old value.
 * Empty profile fields are filled from the model's description, never overwritten.
 */
async function updateMoods(tx: Queryable, storyId: string, present: PreparedCharacter[], idByKey: Map<string, string>): Promise<void> {
  if (present.length === 0) return;
  const rows = present
    .map((c) => ({ id: idByKey.get(characterNameKey(c.name))!, c }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  await tx.query(
    `UPDATE characters AS ch SET
       mood = COALESCE(u.mood, ch.mood),
       emotion_valence = LEAST(1, GREATEST(-1, ch.emotion_valence + $2::real * (COALESCE(u.valence, ch.emotion_valence) - ch.emotion_valence))),
       emotion_arousal = LEAST(1, GREATEST(-1, ch.emotion_arousal + $2::real * (COALESCE(u.arousal, ch.emotion_arousal) - ch.emotion_arousal))),
       emotion_dominance = LEAST(1, GREATEST(-1, ch.emotion_dominance + $2::real * (COALESCE(u.dominance, ch.emotion_dominance) - ch.emotion_dominance))),
       description = CASE WHEN ch.description = '' THEN COALESCE(u.description, '') ELSE ch.description END,
       personality = CASE WHEN ch.personality = '' THEN COALESCE(u.personality, '') ELSE ch.personality END,
       goals = CASE WHEN ch.goals = '' THEN COALESCE(u.goals, '') ELSE ch.goals END,
       version = ch.version + 1,
       updated_at = now()
     FROM unnest($3::uuid[], $4::text[], $5::real[], $6::real[], $7::real[], $8::text[], $9::text[], $10::text[])
       AS u(id, mood, valence, arousal, dominance, description, personality, goals)
     WHERE ch.story_id = $1 AND ch.id = u.id`,
    [
      storyId,
      emotionSmoothing,
      rows.map((r) => r.id),
      rows.map((r) => r.c.mood?.slice(0, 100) ?? null),
      rows.map((r) => r.c.emotion?.valence ?? null),
      rows.map((r) => r.c.emotion?.arousal ?? null),
      rows.map((r) => r.c.emotion?.dominance ?? null),
      rows.map((r) => r.c.description?.slice(0, 4000) ?? null),
      rows.map((r) => r.c.personality?.slice(0, 4000) ?? null),
      rows.map((r) => r.c.goals?.slice(0, 4000) ?? null),
    ],
  );
}
