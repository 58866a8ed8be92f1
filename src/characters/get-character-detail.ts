import type { Queryable } from '../db/index.js';
import { AppError } from '../errors.js';
import { listCharacterMemories, listCharacterReflections, type CharacterMemory, type CharacterReflection } from '../memory/memory-repo.js';
import { readCharactersAt, resolveSceneInStory, type CharacterAtScene } from '../world/index.js';
import { getCharacter } from './character-repo.js';
import { listRelationships, type Relationship } from './relationship-repo.js';

/** What `GET /api/characters/:id` shows: the character at a scene, its relationships and memories there. */
export interface CharacterDetail {
  character: CharacterAtScene;
  relationships: Relationship[];
  memories: CharacterMemory[];
  /** Conclusions the character drew from its memories, each with the memories it rests on. */
  reflections: CharacterReflection[];
}

/**
 * The character as the world stands at `atSceneId` (default: the head). A character not
 * known on that scene's branch is not found there. Private thoughts are left out unless the
 * player has turned thoughts on.
 */
export async function getCharacterDetail(
  db: Queryable,
  characterId: string,
  options: { includeThoughts?: boolean; memoryLimit?: number; atSceneId?: string | null } = {},
): Promise<CharacterDetail> {
  const base = await getCharacter(db, characterId);
  const sceneId = await resolveSceneInStory(db, base.storyId, options.atSceneId);
  const [character] = await readCharactersAt(db, base.storyId, sceneId, { characterIds: [characterId] });
  if (!character) {
    throw new AppError('not_found', `${base.name} has not been met at this scene of the story (only on another branch).`, {
      details: { characterId, sceneId },
    });
  }
  const relationships = await listRelationships(db, base.storyId, characterId, sceneId);
  const memories = await listCharacterMemories(db, {
    storyId: base.storyId,
    characterId,
    includeThoughts: options.includeThoughts ?? false,
    limit: options.memoryLimit ?? 50,
    atSceneId: sceneId,
  });
  const reflections = await listCharacterReflections(db, { storyId: base.storyId, characterId, atSceneId: sceneId });
  return { character, relationships, memories, reflections };
}
