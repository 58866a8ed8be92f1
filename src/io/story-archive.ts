/**
 * The LivingWorld story archive, `format_version: "livingworld/1"`: one JSON document that
 * holds a whole story losslessly.
 *
 * ```
 * {
 *   "format_version": "livingworld/1",
 *   "exported_at": "2026-01-01T12:00:00.000000Z",
 *   "story": { "id", "title", "setting", "instructions", "system_prompt", "status",
 *              "seed", "settings", "head_scene_id", "created_at", "updated_at" },
 *   "scenes": [{ "id", "parent_id", "scene_number", "choice_number", "instruction",
 *                "content", "raw_output", "provider", "model", "metadata", "created_at",
 *                "choices": [{ "number", "content", "selected" }] }],
 *   "user_instructions": [{ "id", "scene_id", "content", "created_at" }],
 *   "characters": [{ "id", "name", "description", "personality", "goals", "background",
 *                    "mood", "emotion": { "valence", "arousal", "dominance" }, "metadata",
 *                    "first_scene_id", "version", "created_at", "updated_at" }],
 *   "scene_characters": [{ "scene_id", "character_id", "role", "importance" }],
 *   "memories": [{ "id", "kind", "scene_id", "through_scene_number", "content",
 *                  "importance", "created_at" }],
 *   "character_memories": [{ "id", "character_id", "scene_id", "kind", "content",
 *                            "valence", "importance", "last_accessed_at", "created_at",
 *                            "evidence_memory_ids" }],
 *   "character_relationships": [{ "id", "character_id", "target_character_id", "sentiment",
 *                                 "trust", "familiarity", "type", "interaction_count",
 *                                 "updated_at" }],
 *   "lore_entries": [{ "id", "title", "keywords", "content", "enabled", "metadata",
 *                      "version", "options", "created_at", "updated_at" }],
 *   "character_assets": [{ "id", "character_id", "kind", "name", "uri", "ext", "media_type",
 *                          "data", "position", "created_at" }],
 *   "lore_activations": [{ "scene_id", "lore_entry_id" }],
 *   "story_facts": [{ "scene_id", "seq", "op", "fact_type", "fact_key", "content", "created_at" }],
 *   // Only in exports that ask for them (--with-prompts, ?withPrompts=true):
 *   "prompt_texts": [{ "id", "content" }],
 *   "scene_prompts": [{ "scene_id", "provider", "model", "context_window", "context_source",
 *                       "num_ctx", "max_tokens", "structured_output", "prompt_tokens",
 *                       "tokenizer", "sections", "created_at",
 *                       "messages": [{ "role", "content" } | { "role", "text_id" }] }]
 * }
 * ```
 *
 * - `scene_prompts` is exactly what the model was sent for a scene; a long system message,
 *   the same for every scene, is written once in `prompt_texts` and named by `text_id`.
 *
 * - Ids are the file's own strings; every reference (`parent_id`, `head_scene_id`,
 *   `scene_id`, `character_id`, `target_character_id`, `first_scene_id`) points at an id in
 *   the same file. Import gives every row a fresh uuid, so a file can be imported many times.
 * - `parent_id: null` marks a root scene (scene_number 1); otherwise scene_number is the
 *   parent's plus one. `choice_number` is the parent's choice that led to the scene
 *   (null when unknown); `selected` marks the choice the player took.
 * - `target_character_id: null` is the player's relationship with the character.
 * - `character_assets` are a card's files (its PNG as `kind: "card_image"`, V3 and CHARX
 *   assets), `data` the bytes in base64, so that avatars and card exports survive the trip
 *   byte for byte; absent in older archives.
 * - `lore_activations` name the lore entries each scene's prompt held, from which sticky and
 *   cooldown are counted along a path; absent in older archives.
 * - `story_facts` are what the storyteller reported at each scene (`op` "add" or "resolve" of
 *   a possession, injury, promise, place or question, in `seq` order within the scene); the
 *   facts at a scene are these folded along its path. Absent in older archives.
 * - `evidence_memory_ids` of a reflection (`kind: "reflection"`) name the character memories
 *   it rests on, ids in `character_memories`; absent in older archives (no evidence).
 * - A memory of `kind: "summary"` with a `scene_id` is the summary made at that scene, at
 *   most one per scene; older archives may hold summaries without a scene.
 * - `seed` is an integer, written as a string when it is beyond 2^53.
 * - Timestamps are ISO 8601 with a time zone; exports write UTC with microseconds.
 * - Not exported: embeddings (recomputed by the embedder after import), turns (generation
 *   bookkeeping: leases, idempotency keys) and the story's optimistic-lock `version`; the
 *   imported story starts at version 0 with no turns, and scenes and user instructions lose
 *   their `turn_id`.
 * - Round trip export → import → export yields the same document except: every id (the
 *   references change with them, consistently, evidence ids included), `exported_at`,
 *   `story.created_at` and `story.updated_at` (the import is a new story, created now), and
 *   `story.title` when the import is given a new one. Rows are ordered deterministically
 *   (see read-story-archive.ts) so the order is the same too.
 * - Markup in text is stored as text; escaping it is the renderer's job.
 *
 * Limits (each refusal is an AppError `validation` naming the JSON path): see the MAX_*
 * constants below; text fields also have the database's own per-column limits, and no text
 * may contain control characters other than \n, \r and \t.
 */
import { z } from 'zod';
import { lorePositions, loreRoles, maxInclusionGroupChars, selectiveLogics } from '../memory/lore-options.js';
import { importValidationError, issuesFromZod, jsonObject, jsonValue, text, timestamp, type JsonObject, type JsonValue } from './validation.js';
import { findArchiveReferenceIssues } from './check-archive-references.js';
import { storyFactTypes } from '../world/story-facts.js';

export const STORY_ARCHIVE_FORMAT = 'livingworld/1';

/** Largest archive file accepted, in bytes of UTF-8 JSON. */
export const MAX_ARCHIVE_BYTES = 20 * 1024 * 1024;
export const MAX_SCENES = 10_000;
export const MAX_CHOICES_PER_SCENE = 9;
/** The ceiling for any one text field; most columns have a smaller limit of their own. */
export const MAX_TEXT_CHARS = 100_000;
export const MAX_CHARACTERS = 1_000;
/** Per table: memories and character_memories each. */
export const MAX_MEMORIES = 100_000;
export const MAX_USER_INSTRUCTIONS = 10_000;
export const MAX_SCENE_CHARACTER_LINKS = 100_000;
export const MAX_RELATIONSHIPS = 100_000;
export const MAX_LORE_ENTRIES = 10_000;
export const MAX_KEYWORDS_PER_LORE_ENTRY = 100;
/** Characters of serialised JSON in one metadata or settings value. */
export const MAX_METADATA_CHARS = 100_000;
export const MAX_ID_CHARS = 100;
export const MAX_CHARACTER_ASSETS = 10_000;
export const MAX_LORE_ACTIVATIONS = 1_000_000;
export const MAX_STORY_FACTS = 1_000_000;
/** A reflection cites a handful of memories; this only bounds a hostile file. */
export const MAX_EVIDENCE_PER_MEMORY = 100;

const fileId = text({ min: 1, max: MAX_ID_CHARS });
const nullable = <T extends z.ZodType>(schema: T) => schema.nullable();
const unit = (min: number) => z.number().min(min, `must be between ${min} and 1`).max(1, `must be between ${min} and 1`);
const count = z.number().int('must be an integer').min(0, 'must not be negative').max(2_147_483_647, 'is too large');
const version = z.number().int('must be an integer').min(0, 'must not be negative').max(Number.MAX_SAFE_INTEGER, 'is too large');
const bigintLike = z.union([
  z.number().int('must be an integer').min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER),
  z.string().refine((s) => /^-?\d{1,19}$/.test(s) && BigInt(s) >= -(2n ** 63n) && BigInt(s) < 2n ** 63n, 'must be a 64-bit integer'),
]);

const choiceSchema = z.object({
  number: z.number().int('must be an integer').min(1, 'must be between 1 and 9').max(9, 'must be between 1 and 9'),
  content: text({ min: 1, max: 1000 }),
  selected: z.boolean(),
});

const sceneSchema = z.object({
  id: fileId,
  parent_id: nullable(fileId),
  scene_number: z.number().int('must be an integer').min(1, 'must be at least 1').max(MAX_SCENES, `must be at most ${MAX_SCENES}`),
  choice_number: nullable(z.number().int('must be an integer').min(1, 'must be between 1 and 9').max(9, 'must be between 1 and 9')),
  instruction: nullable(text({ max: 2000 })),
  content: text({ min: 1, max: MAX_TEXT_CHARS }),
  raw_output: nullable(text({ max: MAX_TEXT_CHARS })),
  provider: nullable(text({ max: 1000 })),
  model: nullable(text({ max: 1000 })),
  metadata: jsonValue(MAX_METADATA_CHARS),
  created_at: timestamp,
  choices: z
    .array(choiceSchema)
    .min(1, 'must have at least one choice (every scene offers a choice)')
    .max(MAX_CHOICES_PER_SCENE, `must have at most ${MAX_CHOICES_PER_SCENE} choices`),
});

const storySchema = z.object({
  id: fileId,
  title: text({ min: 1, max: 200, trimmedMin: true }),
  setting: text({ min: 1, max: 4000 }),
  instructions: nullable(text({ max: 4000 })),
  system_prompt: nullable(text({ max: 20_000 })),
  status: z.enum(['active', 'archived']),
  seed: bigintLike,
  settings: jsonObject(MAX_METADATA_CHARS),
  /** Absent in archives from before player names: "you". */
  player_name: text({ min: 1, max: 100, trimmedMin: true }).optional(),
  head_scene_id: nullable(fileId),
  created_at: timestamp,
  updated_at: timestamp,
});

const userInstructionSchema = z.object({
  id: fileId,
  scene_id: fileId,
  content: text({ min: 1, max: 2000 }),
  created_at: timestamp,
});

const emotionSchema = z.object({ valence: unit(-1), arousal: unit(-1), dominance: unit(-1) });

const characterSchema = z.object({
  id: fileId,
  name: text({ min: 1, max: 100 }),
  description: text({ max: 4000 }),
  personality: text({ max: 4000 }),
  goals: text({ max: 4000 }),
  background: text({ max: 8000 }),
  mood: text({ max: 100 }),
  emotion: emotionSchema,
  metadata: jsonObject(MAX_METADATA_CHARS),
  first_scene_id: nullable(fileId),
  version,
  created_at: timestamp,
  updated_at: timestamp,
});

const sceneCharacterSchema = z.object({
  scene_id: fileId,
  character_id: fileId,
  role: z.enum(['present', 'mentioned']),
  importance: unit(0),
});

const memorySchema = z.object({
  id: fileId,
  kind: z.enum(['scene', 'summary', 'fact']),
  scene_id: nullable(fileId),
  through_scene_number: nullable(count),
  content: text({ min: 1, max: 20_000 }),
  importance: unit(0),
  created_at: timestamp,
});

const characterMemorySchema = z.object({
  id: fileId,
  character_id: fileId,
  scene_id: nullable(fileId),
  kind: z.enum(['observation', 'thought', 'action', 'reaction', 'conversation', 'reflection', 'told']),
  content: text({ min: 1, max: 8000 }),
  valence: unit(-1),
  importance: unit(0),
  last_accessed_at: timestamp,
  created_at: timestamp,
  evidence_memory_ids: z.array(fileId).max(MAX_EVIDENCE_PER_MEMORY, `must have at most ${MAX_EVIDENCE_PER_MEMORY} ids`).optional(),
});

const storyFactSchema = z.object({
  scene_id: fileId,
  seq: count,
  op: z.enum(['add', 'resolve']),
  fact_type: z.enum(storyFactTypes),
  fact_key: text({ min: 1, max: 200 }),
  content: text({ min: 1, max: 1000 }),
  created_at: timestamp,
});

const relationshipSchema = z.object({
  id: fileId,
  character_id: fileId,
  target_character_id: nullable(fileId),
  sentiment: unit(-1),
  trust: unit(0),
  familiarity: unit(0),
  type: text({ min: 1, max: 50 }),
  interaction_count: count,
  updated_at: timestamp,
});

const loreEntrySchema = z.object({
  id: fileId,
  title: text({ min: 1, max: 200 }),
  keywords: z.array(text({ max: 400 })).max(MAX_KEYWORDS_PER_LORE_ENTRY, `must have at most ${MAX_KEYWORDS_PER_LORE_ENTRY} keywords`),
  content: text({ min: 1, max: 8000 }),
  enabled: z.boolean(),
  metadata: jsonValue(MAX_METADATA_CHARS),
  version,
  /** World Info options (lore-options.ts); absent in older archives, which get the defaults. */
  options: z
    .object({
      secondary_keywords: z.array(text({ max: 400 })).max(MAX_KEYWORDS_PER_LORE_ENTRY),
      selective_logic: z.enum(selectiveLogics),
      constant: z.boolean(),
      insertion_order: z.number().int().min(-1_000_000).max(1_000_000),
      position: z.enum(lorePositions),
      depth: z.number().int().min(0).max(1000),
      probability: z.number().int().min(0).max(100),
      case_sensitive: z.boolean(),
      match_whole_words: z.boolean(),
      scan_depth: z.number().int().min(0).max(1000).nullable(),
      depth_role: z.enum(loreRoles),
      inclusion_group: text({ max: maxInclusionGroupChars }),
      group_override: z.boolean(),
      group_weight: z.number().int().min(0).max(1_000_000),
      use_group_scoring: z.boolean().nullable(),
      sticky: z.number().int().min(0).max(1000),
      cooldown: z.number().int().min(0).max(1000),
      delay: z.number().int().min(0).max(1000),
      exclude_recursion: z.boolean(),
      prevent_recursion: z.boolean(),
      delay_until_recursion: z.number().int().min(0).max(1000),
      ignore_budget: z.boolean(),
    })
    .partial()
    .optional(),
  created_at: timestamp,
  updated_at: timestamp,
});

export const MAX_SCENE_PROMPT_MESSAGES = 200;

const promptTextSchema = z.object({ id: fileId, content: text({ min: 1, max: MAX_TEXT_CHARS }) });

const positiveInt = z.number().int('must be an integer').min(1, 'must be at least 1').max(2_147_483_647, 'is too large');
const scenePromptSchema = z.object({
  scene_id: fileId,
  provider: text({ min: 1, max: 1000 }),
  model: text({ min: 1, max: 1000 }),
  context_window: nullable(positiveInt),
  context_source: nullable(text({ max: 200 })),
  num_ctx: nullable(positiveInt),
  max_tokens: nullable(positiveInt),
  structured_output: nullable(text({ max: 100 })),
  prompt_tokens: count,
  tokenizer: text({ min: 1, max: 100 }),
  sections: z.record(text({ min: 1, max: 100 }), count),
  created_at: timestamp,
  messages: z
    .array(
      z.union([
        z.strictObject({ role: z.enum(['system', 'user', 'assistant']), content: text({ max: MAX_TEXT_CHARS }) }),
        z.strictObject({ role: z.enum(['system', 'user', 'assistant']), text_id: fileId }),
      ]),
    )
    .min(1, 'must have at least one message')
    .max(MAX_SCENE_PROMPT_MESSAGES, `must have at most ${MAX_SCENE_PROMPT_MESSAGES} messages`),
});

/** Base64 as the export writes it (RFC 4648, padded, no line breaks). */
const base64 = z
  .string()
  .max(Math.ceil(MAX_ARCHIVE_BYTES / 3) * 4, 'is too large')
  .regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, 'must be base64');

const characterAssetSchema = z.object({
  id: fileId,
  character_id: fileId,
  kind: text({ min: 1, max: 100 }),
  name: text({ min: 1, max: 500 }),
  uri: text({ min: 1, max: 2000 }),
  ext: text({ max: 50 }),
  media_type: text({ max: 200 }),
  data: base64,
  position: z.number().int('must be an integer').min(-2_147_483_648).max(2_147_483_647),
  created_at: timestamp,
});

const limited = <T extends z.ZodType>(item: T, max: number) => z.array(item).max(max, `has more than ${max} entries`);

export const storyArchiveSchema = z.object({
  format_version: z.literal(STORY_ARCHIVE_FORMAT, `must be "${STORY_ARCHIVE_FORMAT}"`),
  exported_at: timestamp,
  story: storySchema,
  scenes: limited(sceneSchema, MAX_SCENES),
  user_instructions: limited(userInstructionSchema, MAX_USER_INSTRUCTIONS),
  characters: limited(characterSchema, MAX_CHARACTERS),
  scene_characters: limited(sceneCharacterSchema, MAX_SCENE_CHARACTER_LINKS),
  memories: limited(memorySchema, MAX_MEMORIES),
  character_memories: limited(characterMemorySchema, MAX_MEMORIES),
  character_relationships: limited(relationshipSchema, MAX_RELATIONSHIPS),
  lore_entries: limited(loreEntrySchema, MAX_LORE_ENTRIES),
  prompt_texts: limited(promptTextSchema, MAX_SCENES).optional(),
  scene_prompts: limited(scenePromptSchema, MAX_SCENES).optional(),
  character_assets: limited(characterAssetSchema, MAX_CHARACTER_ASSETS).optional(),
  lore_activations: limited(z.object({ scene_id: fileId, lore_entry_id: fileId }), MAX_LORE_ACTIVATIONS).optional(),
  story_facts: limited(storyFactSchema, MAX_STORY_FACTS).optional(),
});

export type StoryArchive = z.infer<typeof storyArchiveSchema>;
export type ArchiveStory = StoryArchive['story'];
export type ArchiveScene = StoryArchive['scenes'][number];
export type ArchiveChoice = ArchiveScene['choices'][number];
export type ArchiveCharacter = StoryArchive['characters'][number];
export type ArchiveSceneCharacter = StoryArchive['scene_characters'][number];
export type ArchiveMemory = StoryArchive['memories'][number];
export type ArchiveCharacterMemory = StoryArchive['character_memories'][number];
export type ArchiveRelationship = StoryArchive['character_relationships'][number];
export type ArchiveLoreEntry = StoryArchive['lore_entries'][number];
export type ArchivePromptText = NonNullable<StoryArchive['prompt_texts']>[number];
export type ArchiveScenePrompt = NonNullable<StoryArchive['scene_prompts']>[number];
export type ArchiveCharacterAsset = NonNullable<StoryArchive['character_assets']>[number];
export type ArchiveStoryFact = NonNullable<StoryArchive['story_facts']>[number];
export type { JsonObject, JsonValue };

/**
 * Checks an archive completely — shape, limits, text, then every reference and the scene
 * tree — and returns it typed. Throws AppError `validation` naming the first problem's path.
 */
export function parseStoryArchive(input: unknown): StoryArchive {
  let serializedBytes: number;
  try {
    serializedBytes = Buffer.byteLength(JSON.stringify(input) ?? '', 'utf8');
  } catch {
    throw importValidationError('story archive', [{ path: '(root)', message: 'is not serialisable JSON' }]);
  }
  if (serializedBytes > MAX_ARCHIVE_BYTES) {
    throw importValidationError('story archive', [{ path: '(root)', message: `is larger than ${MAX_ARCHIVE_BYTES} bytes` }]);
  }
  const parsed = storyArchiveSchema.safeParse(input);
  if (!parsed.success) throw importValidationError('story archive', issuesFromZod(parsed.error));
  const referenceIssues = findArchiveReferenceIssues(parsed.data);
  if (referenceIssues.length > 0) throw importValidationError('story archive', referenceIssues);
  return parsed.data;
}
