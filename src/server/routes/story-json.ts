import type { StoryRow } from '../../story/story-repo.js';
import { storyLoreSettings } from '../../story/story-lore-settings.js';

/** The public shape of a story (the seed, system prompt and settings stay server-side). */
export function toStoryJson(story: StoryRow & { sceneCount?: number; headSceneNumber?: number | null }) {
  return {
    id: story.id,
    title: story.title,
    setting: story.setting,
    instructions: story.instructions,
    playerName: story.playerName,
    lore: storyLoreSettings(story),
    status: story.status,
    headSceneId: story.headSceneId,
    version: story.version,
    createdAt: story.createdAt.toISOString(),
    updatedAt: story.updatedAt.toISOString(),
    ...(story.sceneCount === undefined ? {} : { sceneCount: story.sceneCount, headSceneNumber: story.headSceneNumber ?? null }),
  };
}
