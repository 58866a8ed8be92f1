import type { Queryable } from '../db/index.js';
import { getSceneWithCharacters, type ChoiceRow, type SceneCharacterLink, type SceneRow } from './story-repo.js';

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
  characters: SceneCharacterLink[];
  createdAt: string;
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
  const { scene, characters } = await getSceneWithCharacters(db, storyId, sceneId);
  return toSceneView(scene, characters);
}
