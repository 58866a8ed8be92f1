import { createHash } from 'node:crypto';
import type { Queryable } from '../db/index.js';
import { exportStoryArchive } from './read-story-archive.js';
import { headPath, takenChoiceNumber } from './head-path.js';
import { encodeHarloweLinkText, encodeHarloweProse } from './harlowe-text.js';
import { CONTINUE_CHOICE } from './python-export.js';
import type { ArchiveScene, StoryArchive } from './story-archive.js';

export const TWEE_STORY_FORMAT = 'Harlowe';
export const TWEE_STORY_FORMAT_VERSION = '3.3.9';

/**
 * The story's IFID: an uppercase version 4 UUID derived from the story id, so that every
 * export of one story carries the same IFID (Twine treats a new IFID as a different story).
 */
export function storyIfid(storyId: string): string {
  const bytes = createHash('sha256').update(`livingworld-ifid:${storyId}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40; // version 4
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const hex = bytes.toString('hex').toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Twee 3 header escaping: `\`, `[ ]` and `{ }` take a backslash in names and tags. */
export function escapeTweeHeaderText(value: string): string {
  return value.replace(/[\\[\]{}]/g, (c) => `\\${c}`);
}

interface Passage {
  name: string;
  tags: string[];
  metadata?: Record<string, string>;
  text: string;
}

function renderPassage(passage: Passage): string {
  const tags = passage.tags.length > 0 ? ` [${passage.tags.map(escapeTweeHeaderText).join(' ')}]` : '';
  const metadata = passage.metadata ? ` ${JSON.stringify(passage.metadata)}` : '';
  return `:: ${escapeTweeHeaderText(passage.name)}${tags}${metadata}\n${passage.text}\n`;
}

/** `Scene 3 · a1b2c3`: the number for the reader, enough of the id to be unique. */
function scenePassageNames(scenes: readonly ArchiveScene[]): Map<string, string> {
  const hexOf = (id: string) => createHash('sha256').update(id).digest('hex');
  for (let length = 6; ; length += 2) {
    const names = new Map(scenes.map((scene) => [scene.id, `Scene ${scene.scene_number} · ${hexOf(scene.id).slice(0, length)}`]));
    if (new Set(names.values()).size === names.size || length >= 64) return names;
  }
}

/** A story title as StoryTitle's content: one line of plain text (not markup) that cannot open a passage. */
function plainTitle(title: string): string {
  const line = title.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  return line.startsWith('::') ? ` ${line}` : line;
}

/** Our passage names hold none of the link syntax, so only the text needs encoding. */
function link(label: string, target: string): string {
  return `[[${encodeHarloweLinkText(label)}->${target}]]`;
}

/**
 * Twee 3 (Harlowe) of the whole scene tree: StoryTitle, StoryData, one passage per scene with
 * a `[[Choice->Passage]]` link per choice to the scene that choice led to. Prose and link text
 * are verbatim (harlowe-text.ts), so nothing in them runs as markup. A choice never taken
 * links to a passage of its own tagged `unwritten`, so that every link resolves. Where a choice
 * was written more than once (regenerated), it links to the version on the head path (else the
 * newest) and the other versions, tagged `alternate`, are linked beneath it. A scene whose
 * choice is unknown (Python and Markdown imports do not say) is linked as "Continue", and other
 * openings from the start, so that every scene is reachable. Passages sit on a grid: one row
 * per depth, unwritten ones in the row of the scene they would be.
 */
export function renderStoryTwee(archive: StoryArchive): string {
  const names = scenePassageNames(archive.scenes);
  const onHeadPath = new Set(headPath(archive).map((scene) => scene.id));
  const children = new Map<string, ArchiveScene[]>();
  for (const scene of archive.scenes) {
    if (scene.parent_id === null) continue;
    children.set(scene.parent_id, [...(children.get(scene.parent_id) ?? []), scene]);
  }
  const preferred = (candidates: ArchiveScene[]) =>
    candidates.find((scene) => onHeadPath.has(scene.id)) ?? [...candidates].sort((a, b) => b.created_at.localeCompare(a.created_at))[0]!;

  const roots = archive.scenes.filter((scene) => scene.parent_id === null);
  const start = roots.length > 0 ? preferred(roots) : undefined;
  const alternates = new Set(roots.filter((root) => root !== start).map((root) => root.id));

  const columns = new Map<number, number>();
  const gridPosition = (row: number) => {
    const col = columns.get(row) ?? 0;
    columns.set(row, col + 1);
    return { position: `${col * 150 + 100},${row * 150 + 100}`, size: '100,100' };
  };
  const alternateLinks = (label: string, versions: ArchiveScene[]) =>
    versions.map((version, index) => {
      alternates.add(version.id);
      return `${encodeHarloweProse('Another version: ')}${link(`${label} (version ${index + 2})`, names.get(version.id)!)}`;
    });

  const passages: (Passage & { sceneId: string })[] = [];
  const unwritten: Passage[] = [];
  for (const scene of archive.scenes) {
    const name = names.get(scene.id)!;
    const row = scene.scene_number - 1;
    const lines = [encodeHarloweProse(scene.content), ''];
    const ledTo = children.get(scene.id) ?? [];
    const linked = new Set<ArchiveScene>();
    for (const choice of scene.choices) {
      const label = choice.content.trim() || `Choice ${choice.number}`;
      const versions = ledTo.filter((child) => takenChoiceNumber(scene, child) === choice.number);
      if (versions.length === 0) {
        const target = `${name} · choice ${choice.number} (unwritten)`;
        unwritten.push({
          name: target,
          tags: ['unwritten'],
          metadata: gridPosition(row + 1),
          text: `${encodeHarloweProse(choice.content)}\n\n${encodeHarloweProse('This path has not been written yet.')}`,
        });
        lines.push(link(label, target));
        continue;
      }
      const main = preferred(versions);
      versions.forEach((version) => linked.add(version));
      lines.push(link(label, names.get(main.id)!));
      lines.push(...alternateLinks(label, versions.filter((version) => version !== main)));
    }
    const unknownChoice = ledTo.filter((child) => !linked.has(child));
    if (unknownChoice.length > 0) {
      const main = preferred(unknownChoice);
      lines.push(link(CONTINUE_CHOICE, names.get(main.id)!));
      lines.push(...alternateLinks(CONTINUE_CHOICE, unknownChoice.filter((child) => child !== main)));
    }
    if (scene === start) {
      for (const root of roots.filter((other) => other !== start)) {
        lines.push(`${encodeHarloweProse('Another opening: ')}${link('Begin here instead', names.get(root.id)!)}`);
      }
    }
    passages.push({ sceneId: scene.id, name, tags: scene.provider === 'offline' ? ['offline'] : [], metadata: gridPosition(row), text: lines.join('\n').trimEnd() });
  }
  for (const passage of passages) if (alternates.has(passage.sceneId)) passage.tags.push('alternate');

  const storyData = {
    ifid: storyIfid(archive.story.id),
    format: TWEE_STORY_FORMAT,
    'format-version': TWEE_STORY_FORMAT_VERSION,
    ...(start ? { start: names.get(start.id)! } : {}),
    'tag-colors': { unwritten: 'red', alternate: 'yellow', offline: 'blue' },
    zoom: 1,
  };
  const special: Passage[] = [
    { name: 'StoryTitle', tags: [], text: plainTitle(archive.story.title) },
    { name: 'StoryData', tags: [], text: JSON.stringify(storyData, null, 2) },
  ];
  return [...special, ...passages.map(({ sceneId: _sceneId, ...passage }) => passage), ...unwritten].map(renderPassage).join('\n');
}

export async function exportStoryTwee(db: Queryable, storyId: string): Promise<string> {
  return renderStoryTwee(await exportStoryArchive(db, storyId));
}
