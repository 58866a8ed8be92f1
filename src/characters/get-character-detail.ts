import type { Queryable } from '../db/index.js';
import { listCharacterMemories, type CharacterMemory } from '../memory/memory-repo.js';
import { getCharacter, type Character } from './character-repo.js';
import { listRelationships, type Relationship } from './relationship-repo.js';

/** What `GET /api/characters/:id` shows: the character, its relationships and recent memories. */
export interface CharacterDetail {
  character: Character;
  relationships: Relationship[];
  memories: CharacterMemory[];
}

/** Private thoughts are left out unless the player has turned thoughts on. */
export async function getCharacterDetail(
  db: Queryable,
  characterId: string,
  options: { includeThoughts?: boolean; memoryLimit?: number } = {},
): Promise<CharacterDetail> {
  const character = await getCharacter(db, characterId);
  const relationships = await listRelationships(db, character.storyId, character.id);
  const memories = await listCharacterMemories(db, {
    storyId: character.storyId,
    characterId: character.id,
    includeThoughts: options.includeThoughts ?? false,
    limit: options.memoryLimit ?? 50,
  });
  return { character, relationships, memories };
}
