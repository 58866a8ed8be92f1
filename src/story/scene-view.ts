import type { Queryable } from '../db/index.js';
import { getScene, type ChoiceRow, type SceneRow } from './story-repo.js';

/** How every interface and export names a scene written by the offline storyteller. */
export const OFFLINE_SCENE_LABEL = 'offline storyteller';

/** A scene as interfaces show it. */
export interface SceneView {
  id: string;
  storyId: string;
  parentSceneId: string | null;
  sceneNumber: number;
  choiceNumber: number | null;
  instruction: string | null;
  content: string;
  choices: ChoiceRow[];
  provider: string | null;
  model: string | null;
  offline: boolean;
  characters: { id: string; name: string; role: string; importance: number }[];
  createdAt: string;
}

export async function sceneCharacters(db: Queryable, storyId: string, sceneId: string): Promise<SceneView['characters']> {
  const { rows } = await db.query<{ id: string; name: string; role: string; importance: number }>(
    `SELECT c.id, c.name, sc.role, sc.importance
       FROM scene_characters sc JOIN characters c ON c.story_id = sc.story_id AND c.id = sc.character_id
      WHERE sc.story_id = $1 AND sc.scene_id = $2
      ORDER BY sc.importance DESC, c.name`,
    [storyId, sceneId],
  );
  return rows;
}

export function toSceneView(scene: SceneRow, characters: SceneView['characters']): SceneView {
  return {
    id: scene.id,
    storyId: scene.storyId,
    parentSceneId: scene.parentSceneId,
    sceneNumber: scene.sceneNumber,
    choiceNumber: scene.choiceNumber,
    instruction: scene.instruction,
    content: scene.content,
    choices: scene.choices,
    provider: scene.provider,
    model: scene.model,
    offline: scene.provider === 'offline',
    characters,
    createdAt: scene.createdAt.toISOString(),
  };
}

export async function getSceneView(db: Queryable, storyId: string, sceneId: string): Promise<SceneView> {
  // Independent reads: side by side on a server pool.
  const [scene, characters] = await Promise.all([getScene(db, storyId, sceneId), sceneCharacters(db, storyId, sceneId)]);
  return toSceneView(scene, characters);
}
