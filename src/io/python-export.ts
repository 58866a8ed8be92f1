import { clampText, formatJsonPath, importValidationError, isPlainObject, jsonValueProblem, normaliseNameKey, removeForbiddenCharacters, textProblem, timestamp, type ImportRepair, type JsonObject } from './validation.js';
import {
  MAX_CHARACTERS,
  MAX_CHOICES_PER_SCENE,
  MAX_METADATA_CHARS,
  MAX_SCENES,
  MAX_TEXT_CHARS,
  STORY_ARCHIVE_FORMAT,
  type ArchiveCharacter,
  type ArchiveScene,
  type ArchiveSceneCharacter,
  type StoryArchive,
} from './story-archive.js';

export const PYTHON_EXPORT_FORMAT = '1.0';

/** Used where a scene of the original has no choices: every stored scene offers at least one. */
export const CONTINUE_CHOICE = 'Continue';

/** Stands in for a scene the original left empty (a scene must have prose). */
export const EMPTY_SCENE_TEXT = '(This scene was empty in the original export.)';

type Path = (string | number)[];
type CharacterField = 'description' | 'personality' | 'goals' | 'background';
const characterFieldLimits: Record<CharacterField, number> = { description: 4000, personality: 4000, goals: 4000, background: 8000 };

/**
 * Reads the Python export leniently, in the file's own terms: every value that does not fit
 * is repaired (clamped, cleaned, defaulted or dropped) and the repair recorded with the path
 * of the value in the file. Only a shape that is not a story at all is refused.
 */
class PythonReader {
  readonly repairs: ImportRepair[] = [];

  repair(path: Path, repair: string): void {
    this.repairs.push({ path: formatJsonPath(path), repair });
  }

  /** A text value: control characters removed, clamped to `max`; `undefined` when absent or not text. */
  text(value: unknown, path: Path, max: number, { optional = true } = {}): string | undefined {
    if (value === undefined || value === null) {
      if (!optional) this.repair(path, 'is missing; left empty');
      return undefined;
    }
    if (typeof value !== 'string') {
      this.repair(path, `is ${Array.isArray(value) ? 'an array' : typeof value}, not text; left empty`);
      return undefined;
    }
    const cleaned = removeForbiddenCharacters(value);
    if (cleaned !== value) this.repair(path, 'held control characters or unpaired surrogates; they were removed');
    const clamped = clampText(cleaned, max);
    if (clamped !== cleaned) this.repair(path, `was ${cleaned.length} characters; cut to ${max}`);
    return clamped;
  }

  timestamp(value: unknown, path: Path, fallback: string): string {
    if (value === undefined || value === null) return fallback;
    // The same test the story archive applies, so whatever passes here imports.
    if (timestamp.safeParse(value).success) return value as string;
    this.repair(path, 'is not an ISO 8601 timestamp with a time zone; the export time was used');
    return fallback;
  }

  metadata(value: unknown, path: Path): JsonObject {
    if (value === undefined || value === null) return {};
    if (!isPlainObject(value)) {
      this.repair(path, 'is not an object; dropped');
      return {};
    }
    const problem = jsonValueProblem(value, MAX_METADATA_CHARS);
    if (problem) {
      this.repair([...path, ...problem.path.map((key) => (typeof key === 'number' ? key : String(key)))], `${problem.message}; the metadata was dropped`);
      return {};
    }
    return value as JsonObject;
  }

  /** An array of objects, or undefined (with a repair) when it is something else. */
  objects(value: unknown, path: Path, what: string): { value: Record<string, unknown>; index: number }[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.repair(path, `is not an array of ${what}; ignored`);
      return [];
    }
    return value.flatMap((item, index) => {
      if (isPlainObject(item)) return [{ value: item, index }];
      this.repair([...path, index], `is not an object; dropped`);
      return [];
    });
  }
}

function refuse(path: string, message: string): never {
  throw importValidationError('LivingWorld (Python) export', [{ path, message }]);
}

/** A Python id as a lookup key; an id that could not be stored as text is not used. */
const idKey = (value: unknown) =>
  (typeof value === 'number' && Number.isFinite(value)) || (typeof value === 'string' && textProblem(value) === undefined && value.length <= 100) ? String(value) : undefined;

/** Two values of one field, neither lost: the second is appended when it says something else. */
function combine(a: string, b: string, max: number): string {
  if (b === '' || a.includes(b)) return a;
  if (a === '' || b.includes(a)) return clampText(b, max);
  return clampText(`${a}\n\n${b}`, max);
}

/**
 * Converts a Python 1.0 export (INTEROP.md) into a `livingworld/1` archive. Its scenes are a
 * line: each scene's parent is the previous one. The export does not say which choice was
 * taken, so no choice is `selected` and `choice_number` is null. Importance 1–10 is scaled
 * into 0..1. The Python story has no setting; the opening scene stands in for it. Names that
 * differ only in case (or spacing, or surrounding punctuation) are one character, whose fields
 * combine both entries'. Only a file whose story, scenes or entries are not objects and arrays
 * is refused; everything else that does not fit is repaired and listed in `repairs`.
 */
export function parsePythonExport(input: unknown): { archive: StoryArchive; repairs: ImportRepair[] } {
  if (!isPlainObject(input)) refuse('(root)', 'is not a JSON object');
  if (!isPlainObject(input['story'])) refuse('story', input['story'] === undefined ? 'is missing; a Python export has a "story" object' : 'must be an object (the story)');
  if (!Array.isArray(input['scenes'])) refuse('scenes', input['scenes'] === undefined ? 'is missing; a Python export has a "scenes" array' : 'must be an array of scenes');
  const characterList = input['characters'];
  if (characterList !== undefined && characterList !== null && !Array.isArray(characterList)) refuse('characters', 'must be an array of characters');
  (input['scenes'] as unknown[]).forEach((scene, index) => {
    if (!isPlainObject(scene)) refuse(`scenes[${index}]`, 'must be an object (a scene)');
  });
  ((characterList as unknown[] | null | undefined) ?? []).forEach((character, index) => {
    if (!isPlainObject(character)) refuse(`characters[${index}]`, 'must be an object (a character)');
  });

  const read = new PythonReader();
  const source = input as { story: Record<string, unknown>; scenes: Record<string, unknown>[]; characters?: Record<string, unknown>[] | null };
  const now = new Date().toISOString();
  const exportedAt = read.timestamp(input['exported_at'], ['exported_at'], now);

  const characters: ArchiveCharacter[] = [];
  const characterByPythonId = new Map<string, ArchiveCharacter>();
  const characterByNameKey = new Map<string, { character: ArchiveCharacter; path: Path }>();
  const addCharacter = (path: Path, fields: Record<string, unknown>, firstSceneId: string | null): ArchiveCharacter | undefined => {
    const name = read.text(fields['name'], [...path, 'name'], 100, { optional: false })?.trim();
    const key = name === undefined ? '' : normaliseNameKey(name);
    if (name === undefined || key === '') {
      read.repair(path, 'has no usable name (no letters or digits); the character was dropped');
      return undefined;
    }
    const values = Object.fromEntries(
      (Object.keys(characterFieldLimits) as CharacterField[]).map((field) => [field, read.text(fields[field], [...path, field], characterFieldLimits[field])?.trim() ?? '']),
    ) as Record<CharacterField, string>;
    const pythonId = idKey(fields['id']);
    const existing = characterByNameKey.get(key);
    if (existing) {
      const merged = existing.character;
      read.repair(path, `is the same person as ${formatJsonPath(existing.path)} ("${merged.name}"), differing only in case, spacing or punctuation; merged into one character with both entries' fields`);
      for (const field of Object.keys(characterFieldLimits) as CharacterField[]) merged[field] = combine(merged[field], values[field], characterFieldLimits[field]);
      const metadata = read.metadata(fields['metadata'], [...path, 'metadata']);
      const ids = [...((merged.metadata['python_ids'] as (string | number)[] | undefined) ?? []), ...(pythonId !== undefined ? [fields['id'] as string | number] : [])];
      merged.metadata = { ...metadata, ...merged.metadata, ...(ids.length > 0 ? { python_ids: ids } : {}) };
      if (jsonValueProblem(merged.metadata, MAX_METADATA_CHARS)) merged.metadata = ids.length > 0 ? { python_ids: ids } : {};
      if (pythonId !== undefined) characterByPythonId.set(pythonId, merged);
      return merged;
    }
    if (characters.length >= MAX_CHARACTERS) {
      read.repair(path, `is past the ${MAX_CHARACTERS}th character; dropped`);
      return undefined;
    }
    const character: ArchiveCharacter = {
      id: `character-${characters.length + 1}`,
      name,
      ...values,
      mood: 'neutral',
      emotion: { valence: 0, arousal: 0, dominance: 0 },
      metadata: { ...read.metadata(fields['metadata'], [...path, 'metadata']), ...(pythonId !== undefined ? { python_ids: [fields['id'] as string | number] } : {}) },
      first_scene_id: firstSceneId,
      version: 0,
      created_at: exportedAt,
      updated_at: exportedAt,
    };
    characters.push(character);
    characterByNameKey.set(key, { character, path });
    if (pythonId !== undefined) characterByPythonId.set(pythonId, character);
    return character;
  };
  (source.characters ?? []).forEach((character, index) => addCharacter(['characters', index], character, null));

  // Scene order: scene_number where it is a number, the file's order otherwise and for ties.
  const ordered = source.scenes.map((scene, index) => {
    const number = scene['scene_number'];
    if (typeof number !== 'number' || !Number.isFinite(number)) read.repair(['scenes', index, 'scene_number'], 'is not a number; the scene keeps its place in the file');
    return { scene, index, order: typeof number === 'number' && Number.isFinite(number) ? number : Number.POSITIVE_INFINITY };
  });
  ordered.sort((a, b) => a.order - b.order || a.index - b.index);
  if (ordered.length > MAX_SCENES) {
    read.repair(['scenes'], `has ${ordered.length} scenes; the first ${MAX_SCENES} were kept`);
    ordered.length = MAX_SCENES;
  }

  const presentImportances = ordered.flatMap(({ scene }) => (Array.isArray(scene['characters']) ? scene['characters'] : []).map((c) => (isPlainObject(c) && typeof c['importance'] === 'number' ? c['importance'] : 0)));
  const onOneToTen = presentImportances.some((value) => value > 1);
  const scaleImportance = (value: unknown) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) return 0.5;
    return Math.min(1, Math.max(0, onOneToTen ? value / 10 : value));
  };

  const scenes: ArchiveScene[] = [];
  const links: ArchiveSceneCharacter[] = [];
  const linked = new Set<string>();
  ordered.forEach(({ scene, index }, position) => {
    const at: Path = ['scenes', index];
    const id = `scene-${position + 1}`;
    let content = read.text(scene['content'], [...at, 'content'], MAX_TEXT_CHARS, { optional: false }) ?? '';
    if (content.trim() === '') {
      const raw = read.text(scene['raw_response'], [...at, 'raw_response'], MAX_TEXT_CHARS)?.trim();
      content = raw || EMPTY_SCENE_TEXT;
      read.repair([...at, 'content'], raw ? 'is empty; the scene’s raw_response stands in for it' : `is empty; "${EMPTY_SCENE_TEXT}" stands in for it`);
    }
    const choices: ArchiveScene['choices'] = [];
    const choiceEntries = read.objects(scene['choices'], [...at, 'choices'], 'choices');
    choiceEntries
      .map((entry) => ({ ...entry, number: typeof entry.value['number'] === 'number' ? entry.value['number'] : Number.POSITIVE_INFINITY }))
      .sort((a, b) => a.number - b.number || a.index - b.index)
      .forEach(({ value, index: choiceIndex }) => {
        const path = [...at, 'choices', choiceIndex];
        const text = read.text(value['content'], [...path, 'content'], 1000, { optional: false })?.trim();
        if (!text) {
          read.repair(path, 'has no text; the choice was dropped');
          return;
        }
        if (choices.length >= MAX_CHOICES_PER_SCENE) {
          read.repair(path, `is past the ${MAX_CHOICES_PER_SCENE}th choice of its scene; dropped`);
          return;
        }
        const number = choices.length + 1;
        if (value['number'] !== number) read.repair([...path, 'number'], `is ${JSON.stringify(value['number']) ?? 'missing'}; the choice is number ${number}`);
        choices.push({ number, content: text, selected: false });
      });
    if (choices.length === 0) {
      if (choiceEntries.length > 0 || scene['choices'] !== undefined) read.repair([...at, 'choices'], `has no usable choice; "${CONTINUE_CHOICE}" is offered`);
      choices.push({ number: 1, content: CONTINUE_CHOICE, selected: false });
    }
    scenes.push({
      id,
      parent_id: position === 0 ? null : `scene-${position}`,
      scene_number: position + 1,
      choice_number: null,
      instruction: null,
      content,
      raw_output: read.text(scene['raw_response'], [...at, 'raw_response'], MAX_TEXT_CHARS) ?? null,
      provider: null,
      model: null,
      metadata: { ...read.metadata(scene['metadata'], [...at, 'metadata']), ...(idKey(scene['id']) !== undefined ? { python_id: scene['id'] as string | number } : {}) },
      created_at: read.timestamp(scene['created_at'], [...at, 'created_at'], exportedAt),
      choices,
    });
    for (const { value: present, index: presentIndex } of read.objects(scene['characters'], [...at, 'characters'], 'characters')) {
      const path = [...at, 'characters', presentIndex];
      const pythonId = idKey(present['id']);
      const byName = typeof present['name'] === 'string' ? characterByNameKey.get(normaliseNameKey(removeForbiddenCharacters(present['name']).trim().slice(0, 100)))?.character : undefined;
      const character = (pythonId !== undefined ? characterByPythonId.get(pythonId) : undefined) ?? byName ?? addCharacter(path, { id: present['id'], name: present['name'] }, id);
      if (!character) continue;
      character.first_scene_id ??= id;
      const pair = `${id}\u0000${character.id}`;
      if (linked.has(pair)) continue;
      linked.add(pair);
      links.push({ scene_id: id, character_id: character.id, role: present['role'] === 'mentioned' ? 'mentioned' : 'present', importance: scaleImportance(present['importance']) });
    }
  });

  const story = source.story;
  let title = read.text(story['title'], ['story', 'title'], 200, { optional: false })?.trim() ?? '';
  if (title === '') {
    title = 'Imported story';
    read.repair(['story', 'title'], `is empty; the story is called "${title}"`);
  }
  const createdAt = read.timestamp(story['created_at'], ['story', 'created_at'], exportedAt);
  const setting = read.text(story['setting'], ['story', 'setting'], 4000)?.trim();
  const archive: StoryArchive = {
    format_version: STORY_ARCHIVE_FORMAT,
    exported_at: exportedAt,
    story: {
      id: 'story',
      title,
      setting: setting || clampText(scenes[0]?.content ?? '', 4000).trim() || title,
      instructions: read.text(story['instructions'], ['story', 'instructions'], 4000) ?? null,
      system_prompt: read.text(story['system_prompt'], ['story', 'system_prompt'], 20_000) ?? null,
      status: 'active',
      seed: 1,
      settings: { imported_from: 'livingworld-python-1.0', ...(idKey(story['id']) !== undefined ? { python_id: story['id'] as string | number } : {}) },
      head_scene_id: scenes.at(-1)?.id ?? null,
      created_at: createdAt,
      updated_at: read.timestamp(story['updated_at'], ['story', 'updated_at'], createdAt),
    },
    scenes,
    user_instructions: [],
    characters,
    scene_characters: links,
    memories: [],
    character_memories: [],
    character_relationships: [],
    lore_entries: [],
  };
  return { archive, repairs: read.repairs };
}
