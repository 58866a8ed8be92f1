import { statementPart, type Queryable, type StatementPart } from '../db/index.js';
import { getLogger } from '../logger.js';
import { characterMemoriesPart, storyMemoryParts, touchCharacterMemoriesSql, userInstructionPart, type NewCharacterMemory } from '../memory/memory-repo.js';
import type { PreparedCharacter, PreparedSceneMemories } from '../memory/prepare-scene-memories.js';
import { summaryMemory, type PreparedSummary } from '../memory/summarise.js';
import { characterNameKey, cleanCharacterName } from './character-name.js';
import { findCharactersByNames, getOrCreateCharacters } from './character-repo.js';
import {
  adjustRelationshipsAt,
  changeCharacterStates,
  findCharactersOnlyHeardOf,
  loadPath,
  meetCharacters,
  readCharactersAt,
  type CharacterStateChange,
  type RelationshipChangeAtScene,
} from '../world/index.js';

export { prepareSceneMemories, type PreparedSceneMemories, type PrepareSceneMemoriesInput } from '../memory/prepare-scene-memories.js';

/**
 * Weight of the new reading in the exponentially smoothed emotional state: a single scene
 * moves a character's mood noticeably but does not replace it.
 */
export const emotionSmoothing = 0.35;

export interface WriteSceneMemoriesInput {
  storyId: string;
  sceneId: string;
  /** The scene this one continues: its world is where this scene's world starts. */
  parentSceneId: string | null;
  sceneNumber: number;
  turnId?: string;
  prepared: PreparedSceneMemories;
  /** Character memories the scene's context recalled: marked recalled with this scene's writes. */
  recalledMemoryIds?: readonly string[];
  /** The parent's path, root first, when the caller has walked it already (else it is walked here). */
  parentPathSceneIds?: readonly string[];
}

/**
 * The story's side of a scene's memories, written with the scene (parts of its insert): the
 * scene's digest, the summary made at this scene when one is due, and the player's instruction.
 */
export function sceneMemoryParts(
  input: Pick<WriteSceneMemoriesInput, 'storyId' | 'sceneId' | 'sceneNumber' | 'turnId' | 'prepared'> & {
    /** The rolling summary made at this scene, when one is due (stored with the scene's digest). */
    summary?: PreparedSummary;
  },
): StatementPart[] {
  const { storyId, sceneId, prepared } = input;
  return [
    ...storyMemoryParts([
      {
        storyId,
        kind: 'scene',
        sceneId,
        throughSceneNumber: input.sceneNumber,
        content: prepared.digest.content,
        importance: prepared.digest.importance,
        embedding: prepared.digest.embedding,
      },
      ...(input.summary ? [summaryMemory({ storyId, sceneId, ...input.summary })] : []),
    ]),
    ...(prepared.instruction
      ? [userInstructionPart({ storyId, sceneId, turnId: input.turnId ?? null, content: prepared.instruction.content, embedding: prepared.instruction.embedding })]
      : []),
  ];
}

/**
 * The characters' side of a turn's commit, run inside the engine's transaction after the scene
 * row exists (inserted with `prepared.sceneEmbedding`, sceneMemoryParts and the parent's world,
 * worldBranchParts): characters, their links to the scene, memories (only for those present: knowledge
 * isolation), and the new scene's world — its parent's, plus everyone named here met, plus
 * the moods, emotional states and relationships the model reports, each recorded as an event
 * at this scene. Lock order: story (held by the caller, FOR NO KEY UPDATE) → characters (in name-key
 * order) → their states and relationships at the new scene. No embedding is computed here.
 */
export async function writeSceneMemories(tx: Queryable, input: WriteSceneMemoriesInput): Promise<{ charactersCreated: number }> {
  const { storyId, sceneId, prepared } = input;
  const log = getLogger().child({ storyId, sceneId });

  const characters = usableCharacters(prepared.characters, log.debug.bind(log));
  let charactersCreated = 0;
  const idByKey = new Map<string, string>();
  const results = await getOrCreateCharacters(
    tx,
    storyId,
    characters.map((character) => ({
      name: character.name,
      firstSceneId: sceneId,
      ...(character.description === undefined ? {} : { description: character.description }),
      ...(character.personality === undefined ? {} : { personality: character.personality }),
      ...(character.goals === undefined ? {} : { goals: character.goals }),
    })),
  );
  const createdIds = new Set<string>();
  results.forEach((result, i) => {
    if (result.created) {
      charactersCreated++;
      createdIds.add(result.character.id);
    }
    idByKey.set(characterNameKey(characters[i]!.name), result.character.id);
  });
  const recalled = [...(input.recalledMemoryIds ?? [])];
  if (characters.length === 0) {
    if (recalled.length > 0) await tx.query(touchCharacterMemoriesSql('$1', '$2'), [storyId, recalled]);
    return { charactersCreated };
  }

  const ids = characters.map((c) => idByKey.get(characterNameKey(c.name))!);
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
  const presentIds = present.map((c) => idByKey.get(characterNameKey(c.name))!);
  // Sent with the meeting's statement: the characters' links to the scene, the memories of
  // those present, the recalled memories marked, and the version of each present character
  // raised (their mood and state change at this scene, so an edit based on what was shown
  // before it is refused by If-Match instead of silently replaced).
  await meetCharacters(tx, {
    storyId,
    sceneId,
    source: 'scene',
    characterIds: [...new Set(ids)],
    parts: [
      ...(memories.length > 0 ? [characterMemoriesPart(memories)] : []),
      statementPart(touchCharacterMemoriesSql('$1', '$2'), [storyId, recalled]),
      statementPart(`UPDATE characters SET version = version + 1, updated_at = now() WHERE story_id = $1 AND id = ANY($2::uuid[])`, [storyId, presentIds]),
      statementPart(
        `INSERT INTO scene_characters (story_id, scene_id, character_id, role, importance)
         SELECT $1, $2, u.character_id, u.role, u.importance
         FROM unnest($3::uuid[], $4::text[], $5::real[]) AS u(character_id, role, importance)
         ON CONFLICT (story_id, scene_id, character_id) DO NOTHING`,
        [storyId, sceneId, ids, characters.map((c) => c.role), characters.map((c) => c.sceneImportance)],
      ),
    ],
  });
  // Someone only heard of until now is described afresh by this first meeting in person (one
  // created here already has this scene's description).
  const describedHere = presentIds.filter((id, i) => !createdIds.has(id) && present[i]!.description);
  const heardOfOnly =
    describedHere.length === 0
      ? new Set<string>()
      : await findCharactersOnlyHeardOf(tx, {
          storyId,
          sceneId,
          pathSceneIds: input.parentSceneId === null ? [] : (input.parentPathSceneIds ?? (await loadPath(tx, storyId, input.parentSceneId, 0)).ids),
          characterIds: describedHere,
        });
  await updateMoods(tx, storyId, sceneId, present, idByKey, heardOfOnly);

  const others = present.flatMap((character) => character.relationships.map((change) => change.targetName)).filter((name): name is string => name !== null);
  const targets = await resolveTargets(tx, storyId, sceneId, others, idByKey);
  const changes: RelationshipChangeAtScene[] = [];
  for (const character of present) {
    const characterId = idByKey.get(characterNameKey(character.name))!;
    for (const change of character.relationships) {
      const targetCharacterId = change.targetName === null ? null : targets.get(change.targetName);
      if (targetCharacterId === undefined) {
        log.debug({ character: character.name }, 'ignored relationship with a character not known on this branch');
        continue;
      }
      if (targetCharacterId === characterId) continue;
      changes.push({
        characterId,
        targetCharacterId,
        sentimentDelta: change.sentimentDelta,
        trustDelta: change.trustDelta,
        familiarityDelta: change.familiarityDelta,
        ...(change.type === undefined ? {} : { type: change.type }),
      });
    }
  }
  await adjustRelationshipsAt(tx, { storyId, sceneId, source: 'scene', changes });
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

/** The other characters of relationships: one named in this scene, else one known on this branch; unknown names are left out. */
async function resolveTargets(tx: Queryable, storyId: string, sceneId: string, names: string[], idByKey: Map<string, string>): Promise<Map<string, string>> {
  const targets = new Map<string, string>();
  const elsewhere: string[] = [];
  for (const name of names) {
    const inScene = idByKey.get(characterNameKey(name));
    if (inScene) targets.set(name, inScene);
    else elsewhere.push(name);
  }
  const found = await findCharactersByNames(tx, storyId, elsewhere);
  if (found.size === 0) return targets;
  const known = new Set((await readCharactersAt(tx, storyId, sceneId, { characterIds: [...new Set([...found.values()].map((c) => c.id))] })).map((c) => c.id));
  for (const [name, character] of found) if (known.has(character.id)) targets.set(name, character.id);
  return targets;
}

/**
 * Mood text and the smoothed emotional state of every present character at the new scene:
 * new = old + α·(reading − old), clamped to [-1, 1]; a missing reading keeps the old value.
 * Empty profile fields are filled from the model's description, never overwritten, except the
 * description of someone only heard of until this scene (`heardOfOnly`), which this first
 * meeting in person replaces. (The version of each of them was raised with their links to the
 * scene.)
 */
async function updateMoods(
  tx: Queryable,
  storyId: string,
  sceneId: string,
  present: PreparedCharacter[],
  idByKey: Map<string, string>,
  heardOfOnly: Set<string>,
): Promise<void> {
  if (present.length === 0) return;
  const changes: CharacterStateChange[] = present.map((c) => {
    const characterId = idByKey.get(characterNameKey(c.name))!;
    const set: NonNullable<CharacterStateChange['set']> = {};
    const fill: NonNullable<CharacterStateChange['fill']> = {};
    if (c.mood) set.mood = c.mood.slice(0, 100);
    if (c.description) (heardOfOnly.has(characterId) ? set : fill).description = c.description.slice(0, 4000);
    if (c.personality) fill.personality = c.personality.slice(0, 4000);
    if (c.goals) fill.goals = c.goals.slice(0, 4000);
    return {
      characterId,
      ...(Object.keys(set).length > 0 ? { set } : {}),
      fill,
      emotion: { ...c.emotion, alpha: emotionSmoothing },
    };
  });
  await changeCharacterStates(tx, { storyId, sceneId, source: 'scene', changes });
}
