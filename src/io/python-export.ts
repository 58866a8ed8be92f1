import { z } from 'zod';
import { importValidationError, issuesFromZod, isPlainObject, normaliseNameKey, type ImportRepair, type JsonObject } from './validation.js';
import { STORY_ARCHIVE_FORMAT, type ArchiveCharacter, type ArchiveScene, type ArchiveSceneCharacter, type StoryArchive } from './story-archive.js';

/**
 * The original Python LivingWorld's JSON export, `format_version: "1.0"` (INTEROP.md):
 * `{story, scenes[], characters[], exported_at, format_version}`. Only what we read is
 * described; unknown keys are ignored. Text limits are checked afterwards by the archive
 * schema, against the converted document (same paths for characters and scenes).
 */
const pythonId = z.union([z.number(), z.string()]);
const optionalText = z.string().nullish();

const pythonExportSchema = z.object({
  format_version: z.literal('1.0'),
  exported_at: z.string().nullish(),
  story: z.object({
    id: pythonId.nullish(),
    title: z.string(),
    created_at: z.string().nullish(),
    updated_at: z.string().nullish(),
    system_prompt: optionalText,
    // Not in the documented shape, but read when a later Python version writes them.
    setting: optionalText,
    instructions: optionalText,
  }),
  scenes: z
    .array(
      z.object({
        id: pythonId.nullish(),
        scene_number: z.number().int(),
        content: z.string(),
        raw_response: optionalText,
        choices: z.array(z.object({ number: z.number().int(), content: z.string() })).nullish(),
        characters: z
          .array(z.object({ id: pythonId.nullish(), name: z.string(), role: z.string().nullish(), importance: z.number().nullish() }))
          .nullish(),
        metadata: z.unknown().optional(),
        created_at: z.string().nullish(),
      }),
    )
    .max(10_000, 'has more than 10000 entries'),
  characters: z
    .array(
      z.object({
        id: pythonId.nullish(),
        name: z.string(),
        description: optionalText,
        personality: optionalText,
        goals: optionalText,
        background: optionalText,
        metadata: z.unknown().optional(),
      }),
    )
    .max(1_000, 'has more than 1000 entries')
    .nullish(),
});

export const PYTHON_EXPORT_FORMAT = '1.0';

/** Used where a scene of the original has no choices: every stored scene offers at least one. */
export const CONTINUE_CHOICE = 'Continue';

/** A Python export's timestamps are ISO 8601 with an offset; anything else becomes the export time. */
function timestampOr(value: string | null | undefined, fallback: string): string {
  return value && !Number.isNaN(Date.parse(value)) && /[T ]\d{2}:\d{2}/.test(value) && /(Z|[+-]\d{2}:?\d{2})$/.test(value) ? value : fallback;
}

const objectOrEmpty = (value: unknown): JsonObject => (isPlainObject(value) ? (value as JsonObject) : {});

/**
 * Converts a Python 1.0 export into a `livingworld/1` archive. Its scenes are a line: each
 * scene's parent is the previous one. The export does not say which choice was taken, so no
 * choice is `selected` and `choice_number` is null. Importance 1–10 is scaled into 0..1.
 * The Python story has no setting; the opening scene stands in for it.
 */
export function parsePythonExport(input: unknown): { archive: StoryArchive; repairs: ImportRepair[] } {
  const parsed = pythonExportSchema.safeParse(input);
  if (!parsed.success) throw importValidationError('LivingWorld (Python) export', issuesFromZod(parsed.error));
  const source = parsed.data;
  const now = new Date().toISOString();
  const exportedAt = timestampOr(source.exported_at, now);
  const scenesInOrder = [...source.scenes].sort((a, b) => a.scene_number - b.scene_number);

  const characters: ArchiveCharacter[] = [];
  const characterByPythonId = new Map<string, string>();
  const characterByNameKey = new Map<string, string>();
  const addCharacter = (fields: { id?: string | number | null | undefined; name: string } & Partial<Record<'description' | 'personality' | 'goals' | 'background', string | null>>, metadata: unknown, firstSceneId: string | null) => {
    const key = normaliseNameKey(fields.name);
    const existing = characterByNameKey.get(key);
    if (existing !== undefined) {
      if (fields.id != null) characterByPythonId.set(String(fields.id), existing);
      return existing;
    }
    const id = `character-${characters.length + 1}`;
    characters.push({
      id,
      name: fields.name,
      description: fields.description ?? '',
      personality: fields.personality ?? '',
      goals: fields.goals ?? '',
      background: fields.background ?? '',
      mood: 'neutral',
      emotion: { valence: 0, arousal: 0, dominance: 0 },
      metadata: { ...objectOrEmpty(metadata), ...(fields.id != null ? { python_id: fields.id } : {}) },
      first_scene_id: firstSceneId,
      version: 0,
      created_at: exportedAt,
      updated_at: exportedAt,
    });
    characterByNameKey.set(key, id);
    if (fields.id != null) characterByPythonId.set(String(fields.id), id);
    return id;
  };
  for (const character of source.characters ?? []) addCharacter(character, character.metadata, null);

  const importances = scenesInOrder.flatMap((scene) => (scene.characters ?? []).map((c) => c.importance ?? 0));
  const onOneToTen = importances.some((value) => value > 1);
  const scaleImportance = (value: number | null | undefined) => {
    if (value == null) return 0.5;
    const scaled = onOneToTen ? value / 10 : value;
    return Math.min(1, Math.max(0, scaled));
  };

  const scenes: ArchiveScene[] = [];
  const links: ArchiveSceneCharacter[] = [];
  const linked = new Set<string>();
  scenesInOrder.forEach((scene, index) => {
    const id = `scene-${index + 1}`;
    const choices = [...(scene.choices ?? [])].sort((a, b) => a.number - b.number);
    scenes.push({
      id,
      parent_id: index === 0 ? null : `scene-${index}`,
      scene_number: index + 1,
      choice_number: null,
      instruction: null,
      content: scene.content,
      raw_output: scene.raw_response ?? null,
      provider: null,
      model: null,
      metadata: { ...objectOrEmpty(scene.metadata), ...(scene.id != null ? { python_id: scene.id } : {}) },
      created_at: timestampOr(scene.created_at, exportedAt),
      choices: choices.length > 0 ? choices.map((c) => ({ number: c.number, content: c.content, selected: false })) : [{ number: 1, content: CONTINUE_CHOICE, selected: false }],
    });
    for (const present of scene.characters ?? []) {
      const characterId =
        (present.id != null ? characterByPythonId.get(String(present.id)) : undefined) ??
        characterByNameKey.get(normaliseNameKey(present.name)) ??
        addCharacter({ id: present.id, name: present.name }, {}, id);
      const character = characters.find((c) => c.id === characterId)!;
      character.first_scene_id ??= id;
      const pair = `${id}\u0000${characterId}`;
      if (linked.has(pair)) continue;
      linked.add(pair);
      links.push({ scene_id: id, character_id: characterId, role: present.role === 'mentioned' ? 'mentioned' : 'present', importance: scaleImportance(present.importance) });
    }
  });

  const createdAt = timestampOr(source.story.created_at, exportedAt);
  const archive: StoryArchive = {
    format_version: STORY_ARCHIVE_FORMAT,
    exported_at: exportedAt,
    story: {
      id: source.story.id != null ? String(source.story.id) : 'story',
      title: source.story.title,
      setting: source.story.setting || scenes[0]?.content.slice(0, 4000) || source.story.title,
      instructions: source.story.instructions ?? null,
      system_prompt: source.story.system_prompt ?? null,
      status: 'active',
      seed: 1,
      settings: { imported_from: 'livingworld-python-1.0' },
      head_scene_id: scenes.at(-1)?.id ?? null,
      created_at: createdAt,
      updated_at: timestampOr(source.story.updated_at, createdAt),
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
  return { archive, repairs: [] };
}
