import { CONTINUE_CHOICE } from './python-export.js';
import { STORY_ARCHIVE_FORMAT, type ArchiveScene, type StoryArchive } from './story-archive.js';
import { importValidationError } from './validation.js';
import { OFFLINE_SCENE_LABEL } from '../story/scene-view.js';

const sceneHeading = /^##\s+Scene\b.*$/i;
const choicesHeading = /^\*\*Choices:?\*\*\s*$/i;
const separator = /^\s*(-\s*){3,}$|^\s*(\*\s*){3,}$|^\s*(_\s*){3,}$/;
// `2. **Ask the boy** ← chosen *(ask her name)*`, or an unmarked `2. Ask the boy` / `2) …`.
const chosenChoice = /^(\d+)[.)]\s+\*\*(.+)\*\*\s*←\s*chosen(?:\s+\*\((.*)\)\*)?\s*$/;
const plainChoice = /^(\d+)[.)]\s+(.+?)\s*$/;

function trimBlankLines(lines: string[]): string[] {
  let start = 0;
  let end = lines.length;
  while (start < end && lines[start]!.trim() === '') start++;
  while (end > start && lines[end - 1]!.trim() === '') end--;
  return lines.slice(start, end);
}

interface MarkdownScene {
  prose: string;
  choices: { number: number; content: string }[];
  chosen: number | undefined;
  /** The instruction given with the chosen choice; it belongs to the next scene. */
  chosenInstruction: string | undefined;
}

function parseSceneSection(lines: string[]): MarkdownScene {
  const body = trimBlankLines(lines);
  while (body.length > 0 && separator.test(body.at(-1)!)) {
    body.pop();
    body.splice(0, body.length, ...trimBlankLines(body));
  }
  // The last unescaped **Choices:** line: prose from an unescaping writer may contain one.
  let choicesAt = -1;
  body.forEach((line, index) => {
    if (choicesHeading.test(line)) choicesAt = index;
  });
  const proseLines = choicesAt === -1 ? body : body.slice(0, choicesAt);
  const prose = trimBlankLines(proseLines)
    .map((line) => (line.startsWith('\\') ? line.slice(1) : line))
    .join('\n');
  const choices: MarkdownScene['choices'] = [];
  let chosen: number | undefined;
  let chosenInstruction: string | undefined;
  for (const line of choicesAt === -1 ? [] : body.slice(choicesAt + 1)) {
    const marked = chosenChoice.exec(line);
    const match = marked ?? plainChoice.exec(line);
    if (!match) continue;
    const number = Number(match[1]);
    choices.push({ number, content: match[2]!.trim() });
    if (marked) {
      chosen = number;
      chosenInstruction = marked[3]?.trim() || undefined;
    }
  }
  return { prose, choices, chosen, chosenInstruction };
}

/**
 * Reads our Markdown export, or the Python original's (which has no `← chosen` marks), as a
 * linear story archive: each scene's parent is the previous one; the choice marked chosen is
 * `selected` and is the next scene's `choice_number`. Characters, memories and the tree's
 * other branches are not in Markdown and so are not imported. A scene without choices is
 * given one "Continue" choice, since every stored scene offers one.
 */
export function parseStoryMarkdown(markdown: string): StoryArchive {
  const lines = markdown.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n').split('\n');
  const titleLine = lines.find((line) => /^#\s+\S/.test(line));
  const title = titleLine?.replace(/^#\s+/, '').trim() || 'Imported story';

  const sections: string[][] = [];
  const offline: boolean[] = [];
  for (const line of lines) {
    if (sceneHeading.test(line)) {
      sections.push([]);
      offline.push(line.trimEnd().toLowerCase().endsWith(`· ${OFFLINE_SCENE_LABEL}`));
    } else {
      sections.at(-1)?.push(line);
    }
  }
  if (sections.length === 0) {
    throw importValidationError('Markdown story', [{ path: '(root)', message: 'has no "## Scene N" headings; it is not a LivingWorld Markdown export' }]);
  }
  const parsed = sections.map(parseSceneSection);
  const now = new Date().toISOString();
  const scenes: ArchiveScene[] = parsed.map((scene, index) => {
    const previous = parsed[index - 1];
    return {
      id: `scene-${index + 1}`,
      parent_id: index === 0 ? null : `scene-${index}`,
      scene_number: index + 1,
      choice_number: previous?.chosen ?? null,
      instruction: previous?.chosenInstruction ?? null,
      content: scene.prose,
      raw_output: null,
      provider: offline[index] ? 'offline' : null,
      model: null,
      metadata: {},
      created_at: now,
      choices:
        scene.choices.length > 0
          ? scene.choices.map((choice) => ({ ...choice, selected: choice.number === scene.chosen }))
          : [{ number: 1, content: CONTINUE_CHOICE, selected: false }],
    };
  });
  return {
    format_version: STORY_ARCHIVE_FORMAT,
    exported_at: now,
    story: {
      id: 'story',
      title,
      setting: scenes[0]?.content.slice(0, 4000) || title,
      instructions: null,
      system_prompt: null,
      status: 'active',
      seed: 1,
      settings: { imported_from: 'markdown' },
      head_scene_id: scenes.at(-1)!.id,
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
  };
}
