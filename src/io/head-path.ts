import { pathInTree } from '../world/scene-path.js';
import type { ArchiveScene, StoryArchive } from './story-archive.js';

/** The scenes from the root to the head, in reading order; empty when there is no head. */
export function headPath(archive: StoryArchive): ArchiveScene[] {
  return pathInTree(archive.story.head_scene_id, new Map(archive.scenes.map((scene) => [scene.id, scene])), (scene) => scene.parent_id);
}

/**
 * The choice taken in `scene` on the way to `next`: the number the next scene records, else
 * the one choice marked selected (an import that did not know the child's choice number).
 */
export function takenChoiceNumber(scene: ArchiveScene, next: ArchiveScene | undefined): number | undefined {
  if (!next) return undefined;
  if (next.choice_number !== null) return next.choice_number;
  const selected = scene.choices.filter((choice) => choice.selected);
  return selected.length === 1 ? selected[0]!.number : undefined;
}
