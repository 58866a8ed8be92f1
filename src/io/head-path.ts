import type { ArchiveScene, StoryArchive } from './story-archive.js';

/** The scenes from the root to the head, in reading order; empty when there is no head. */
export function headPath(archive: StoryArchive): ArchiveScene[] {
  const byId = new Map(archive.scenes.map((scene) => [scene.id, scene]));
  const path: ArchiveScene[] = [];
  const seen = new Set<string>();
  let current = archive.story.head_scene_id === null ? undefined : byId.get(archive.story.head_scene_id);
  while (current && !seen.has(current.id)) {
    seen.add(current.id);
    path.push(current);
    current = current.parent_id === null ? undefined : byId.get(current.parent_id);
  }
  return path.reverse();
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
