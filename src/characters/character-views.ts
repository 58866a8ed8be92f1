import type { Queryable } from '../db/index.js';
import { readCharactersWithPlayerStandingAt, resolveSceneInStory, type CharacterAtScene } from '../world/index.js';

export interface CharacterSummary extends CharacterAtScene {
  /** Trust toward the player, or null before they have met. */
  playerTrust: number | null;
  playerSentiment: number | null;
}

/**
 * The story's characters as the world stands at a scene (default: the head), with how each
 * stands with the player there. Characters met only on other branches are not listed.
 */
export async function listStoryCharacters(db: Queryable, storyId: string, options: { atSceneId?: string | null } = {}): Promise<CharacterSummary[]> {
  return listCharactersAtScene(db, storyId, await resolveSceneInStory(db, storyId, options.atSceneId));
}

/** listStoryCharacters at a scene already resolved (resolveSceneInStory), so it is not checked twice. */
export async function listCharactersAtScene(db: Queryable, storyId: string, sceneId: string | null): Promise<CharacterSummary[]> {
  return readCharactersWithPlayerStandingAt(db, storyId, sceneId);
}

/** Private thoughts the characters present had in a scene (shown only when the player asks). */
export async function sceneThoughts(db: Queryable, storyId: string, sceneId: string): Promise<{ characterId: string; name: string; content: string }[]> {
  const { rows } = await db.query<{ character_id: string; name: string; content: string }>(
    `SELECT m.character_id, c.name, m.content
       FROM character_memories m JOIN characters c ON c.story_id = m.story_id AND c.id = m.character_id
      WHERE m.story_id = $1 AND m.scene_id = $2 AND m.kind = 'thought'
      ORDER BY c.name, m.created_at`,
    [storyId, sceneId],
  );
  return rows.map((row) => ({ characterId: row.character_id, name: row.name, content: row.content }));
}
