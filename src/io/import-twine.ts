import { AUTHORED_SCENE_KEY } from '../story/authored-scene-key.js';
import { CONTINUE_CHOICE } from './python-export.js';
import { readTwinePassage, type PassageReading } from './read-twine-passage.js';
import { MAX_CHOICES_PER_SCENE, MAX_TEXT_CHARS, STORY_ARCHIVE_FORMAT, type ArchiveScene, type StoryArchive } from './story-archive.js';
import type { TwinePassage, TwineStory } from './twine-story.js';
import { clampText, importValidationError, removeForbiddenCharacters } from './validation.js';

/** The tree a Twine story unfolds into is cut here; choices past it are left to the storyteller. */
export const MAX_TWINE_SCENES = 5_000;
const LISTED = 10;

export interface TwineArchive {
  archive: StoryArchive;
  /** What the story held that the LivingWorld story does not (macros, scripts, styles, unreachable passages…). */
  notCarriedOver: string[];
}

const cleanText = (value: string, max: number) => clampText(removeForbiddenCharacters(value), max);
const listed = (names: string[]) => names.slice(0, LISTED).map((name) => JSON.stringify(name)).join(', ') + (names.length > LISTED ? ` and ${names.length - LISTED} more` : '');

const scriptTags = new Set(['script']);
const styleTags = new Set(['stylesheet']);
// Harlowe's and SugarCube's passages that run around others rather than being read.
const specialTags = new Set(['header', 'footer', 'startup', 'debug-header', 'debug-footer', 'debug-startup', 'widget']);

/**
 * Unfolds a Twine story into a scene tree: the start passage is the opening scene and each
 * link a choice whose child scene is the linked passage, so a passage appears once on any path.
 * A link back to a passage already on the path (a cycle), to a missing passage, or past the
 * scene budget stays a choice without a scene, for the storyteller to write when it is taken.
 * A passage without links offers "Continue". Scenes are marked with the passage they came from
 * (AUTHORED_SCENE_KEY), which is what lets a turn move to them without a model call.
 */
export function twineStoryToArchive(story: TwineStory, otherStories: string[] = []): TwineArchive {
  const notCarriedOver: string[] = [];
  const format = story.format === null || /harlowe/i.test(story.format) ? 'harlowe' : 'other';
  const byName = new Map<string, TwinePassage>();
  const duplicates: string[] = [];
  const scripts: string[] = [];
  const styles: string[] = [];
  const special: string[] = [];
  for (const passage of story.passages) {
    if (passage.tags.some((tag) => scriptTags.has(tag))) scripts.push(passage.name);
    else if (passage.tags.some((tag) => styleTags.has(tag))) styles.push(passage.name);
    else if (passage.tags.some((tag) => specialTags.has(tag))) special.push(passage.name);
    else if (byName.has(passage.name)) duplicates.push(passage.name);
    else byName.set(passage.name, passage);
  }
  const startName = [story.start, 'Start', story.passages.find((p) => byName.has(p.name))?.name].find((name): name is string => name != null && byName.has(name));
  if (startName === undefined) {
    throw importValidationError('Twine story', [{ path: story.start ? `start "${story.start}"` : 'passages', message: story.start ? 'names a passage the story does not have' : 'has no passage to start from' }]);
  }

  const readings = new Map<string, PassageReading>();
  const read = (name: string) => {
    let reading = readings.get(name);
    if (!reading) readings.set(name, (reading = readTwinePassage(byName.get(name)!.text, format)));
    return reading;
  };
  const resolve = (target: string) => (byName.has(target) ? target : byName.has(target.trim()) ? target.trim() : undefined);

  const scenes: ArchiveScene[] = [];
  const now = new Date().toISOString();
  const broken = new Set<string>();
  const crowded = new Set<string>();
  const emptied = new Set<string>();
  let cut = false;
  // Breadth first, so that a cut budget still leaves every path its first scenes.
  const queue: { id: string; name: string; path: ReadonlySet<string>; parent: ArchiveScene | null; choiceNumber: number | null }[] = [
    { id: 'scene-1', name: startName, path: new Set([startName]), parent: null, choiceNumber: null },
  ];
  let nextId = 2;
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head]!;
    const reading = read(node.name);
    if (reading.links.length > MAX_CHOICES_PER_SCENE) crowded.add(node.name);
    const links = reading.links.slice(0, MAX_CHOICES_PER_SCENE);
    const prose = cleanText(reading.prose, MAX_TEXT_CHARS).trim();
    if (prose === '') emptied.add(node.name);
    const scene: ArchiveScene = {
      id: node.id,
      parent_id: node.parent?.id ?? null,
      scene_number: (node.parent?.scene_number ?? 0) + 1,
      choice_number: node.choiceNumber,
      instruction: null,
      content: prose || cleanText(node.name, MAX_TEXT_CHARS).trim() || 'Untitled passage',
      raw_output: null,
      provider: null,
      model: null,
      metadata: { [AUTHORED_SCENE_KEY]: node.name },
      created_at: now,
      choices:
        links.length === 0
          ? [{ number: 1, content: CONTINUE_CHOICE, selected: false }]
          : links.map((link, index) => ({ number: index + 1, content: cleanText(link.label.trim() || link.target.trim(), 1000).trim() || `Choice ${index + 1}`, selected: false })),
    };
    scenes.push(scene);
    links.forEach((link, index) => {
      const target = resolve(link.target);
      if (target === undefined) {
        broken.add(`${node.name} → ${link.target}`);
        return;
      }
      if (node.path.has(target)) return;
      if (queue.length >= MAX_TWINE_SCENES) {
        cut = true;
        return;
      }
      queue.push({ id: `scene-${nextId++}`, name: target, path: new Set([...node.path, target]), parent: scene, choiceNumber: index + 1 });
    });
  }

  const macroCounts = new Map<string, number>();
  let scriptElements = 0;
  let styleElements = 0;
  for (const reading of readings.values()) {
    for (const macro of reading.macros) macroCounts.set(macro, (macroCounts.get(macro) ?? 0) + 1);
    scriptElements += reading.scripts;
    styleElements += reading.styles;
  }
  if (macroCounts.size > 0) {
    const names = [...macroCounts].sort((a, b) => b[1] - a[1]).map(([name, count]) => `${name} ×${count}`);
    notCarriedOver.push(`macros (removed from the prose; the storyteller does not run them): ${names.slice(0, 20).join(', ')}${names.length > 20 ? ` and ${names.length - 20} more` : ''}`);
  }
  const droppedBranches = [...readings].flatMap(([name, reading]) =>
    reading.droppedBranches.map((text) => `${JSON.stringify(name)}: ${JSON.stringify(text.length > 80 ? `${text.slice(0, 79)}…` : text)}`),
  );
  if (droppedBranches.length > 0) {
    notCarriedOver.push(
      `conditional text: of each (if:)/(else-if:)/(else:) chain the scene keeps the first branch whose condition holds or cannot be decided on import; dropped: ${droppedBranches.slice(0, LISTED).join(', ')}${droppedBranches.length > LISTED ? ` and ${droppedBranches.length - LISTED} more` : ''}`,
    );
  }
  if (story.hasStoryScript || scripts.length > 0 || scriptElements > 0) {
    notCarriedOver.push(
      `scripts: ${[story.hasStoryScript ? 'the story JavaScript' : '', scripts.length > 0 ? `passages tagged script (${listed(scripts)})` : '', scriptElements > 0 ? `${scriptElements} <script> element(s) in passages` : ''].filter(Boolean).join('; ')}`,
    );
  }
  if (story.hasStoryStylesheet || styles.length > 0 || styleElements > 0) {
    notCarriedOver.push(
      `styles: ${[story.hasStoryStylesheet ? 'the story stylesheet' : '', styles.length > 0 ? `passages tagged stylesheet (${listed(styles)})` : '', styleElements > 0 ? `${styleElements} <style> element(s) in passages` : ''].filter(Boolean).join('; ')}`,
    );
  }
  if (special.length > 0) notCarriedOver.push(`passages that run around others (header, footer, startup, widget): ${listed(special)}`);
  const reached = new Set(readings.keys());
  const unreachable = [...byName.keys()].filter((name) => !reached.has(name));
  if (unreachable.length > 0) notCarriedOver.push(`passages not reachable from the start "${startName}": ${listed(unreachable)}`);
  if (duplicates.length > 0) notCarriedOver.push(`second passages with the same name (the first was kept): ${listed(duplicates)}`);
  if (broken.size > 0) notCarriedOver.push(`links to passages the story does not have (left for the storyteller): ${listed([...broken])}`);
  if (crowded.size > 0) notCarriedOver.push(`links past the ${MAX_CHOICES_PER_SCENE}th in a passage (a scene offers at most ${MAX_CHOICES_PER_SCENE} choices): ${listed([...crowded])}`);
  if (emptied.size > 0) notCarriedOver.push(`passages with no prose once markup was removed (their names stand in): ${listed([...emptied])}`);
  if (cut) notCarriedOver.push(`paths past ${MAX_TWINE_SCENES} scenes (the storyteller writes those choices when they are taken)`);
  if (otherStories.length > 0) notCarriedOver.push(`other stories in the library file (import each on its own): ${listed(otherStories)}`);

  const title = cleanText(story.name, 200).trim() || 'Imported Twine story';
  return {
    archive: {
      format_version: STORY_ARCHIVE_FORMAT,
      exported_at: now,
      story: {
        id: 'twine-story',
        title,
        setting: clampText(scenes[0]!.content, 4000),
        instructions: null,
        system_prompt: null,
        status: 'active',
        seed: 1,
        settings: { imported_from: 'twine', twine: { ifid: story.ifid, format: story.format, format_version: story.formatVersion, start: startName } },
        head_scene_id: 'scene-1',
        created_at: now,
        updated_at: now,
      },
      scenes,
      user_instructions: [],
      characters: [],
      scene_characters: [],
      memories: [],
      character_memories: [],
      character_relationships: [],
      lore_entries: [],
    },
    notCarriedOver,
  };
}
