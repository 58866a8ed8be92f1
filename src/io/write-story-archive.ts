import { randomUUID } from 'node:crypto';
import type { Database, Queryable } from '../db/index.js';
import { newStoryTransaction, pgErrorOf, refreshPlannerStatistics, sqlStateOf, withTransaction } from '../db/index.js';
import { AppError } from '../errors.js';
import { findStoryByImportHash, lockImportHash, setStoryImportHash } from '../story/story-repo.js';
import { recordIdempotentAnswer, type IdempotencyClaim } from '../idempotency/index.js';
import { parseStoryArchive, type StoryArchive } from './story-archive.js';
import { importValidationError, text } from './validation.js';
import { defaultLoreOptions } from '../memory/lore-options.js';
import { optionColumns } from '../memory/lore-repo.js';
import { defaultPlayerName } from '../story/macros.js';
import { insertStoredStoryPrompts, type StoredStoryPrompts } from '../story/scene-prompt-repo.js';
import { queueEmbeddingBackfill } from '../memory/embedding-backfill.js';

export interface ImportStoryArchiveOptions {
  /** Replaces the archive's title (e.g. "… (copy)"). */
  title?: string;
  /** The user who owns the new story (stories.owner_id); unset means the built-in local user. */
  ownerId?: string;
  /** SHA-256 of the imported file, kept with the story to recognise the same file next time. */
  importHash?: string;
  /** With importHash: refuse (already_imported) when a story came from the same file already. */
  refuseDuplicate?: boolean;
  /** A keyed request: its answer is stored in the import's transaction. */
  idempotency?: IdempotencyClaim;
  /** The answer stored for a keyed request, from what was written (default {storyId, format}). */
  answerFor?: (written: ImportedStory) => unknown;
  /** The file format the answer names (importStoryFile knows it). */
  format?: string;
}

export interface ImportedStory {
  storyId: string;
  copyOf?: { storyId: string; title: string };
}

const titleSchema = text({ min: 1, max: 200, trimmedMin: true });

/**
 * Imports a `livingworld/1` archive as a new story. Everything is validated before the first
 * write; the writes are one transaction with fresh uuids, so a failure leaves nothing behind.
 */
/** Imports of at least this many scenes refresh the embedded database's planner statistics. */
const largeImportScenes = 200;

export async function importStoryArchive(
  db: Database,
  archive: unknown,
  options: ImportStoryArchiveOptions = {},
): Promise<ImportedStory> {
  const parsed = parseStoryArchive(archive);
  if (options.title !== undefined) {
    const title = titleSchema.safeParse(options.title);
    if (!title.success) throw importValidationError('story title', [{ path: 'title', message: title.error.issues[0]?.message ?? 'is invalid' }]);
    parsed.story.title = options.title;
  }
  const rows = buildRows(parsed);
  let earlier: { id: string; title: string } | undefined;
  try {
    await withTransaction(db, newStoryTransaction, async (tx) => {
      if (options.importHash !== undefined) {
        await lockImportHash(tx, options.importHash);
        earlier = await findStoryByImportHash(tx, options.importHash, options.ownerId);
        if (earlier && options.refuseDuplicate) {
          throw new AppError('already_imported', `This file was imported before, as "${earlier.title}" (${earlier.id}).`, {
            details: { storyId: earlier.id, title: earlier.title },
          });
        }
      }
      await insertRows(tx, rows);
      // An archive carries no embeddings: a background job computes them.
      await queueEmbeddingBackfill(tx, rows.storyId);
      if (options.importHash !== undefined) await setStoryImportHash(tx, rows.storyId, options.importHash);
      // Only when asked, so that the import does not depend on the access migration otherwise.
      if (options.ownerId !== undefined) await tx.query('UPDATE stories SET owner_id = $2 WHERE id = $1', [rows.storyId, options.ownerId]);
      const written: ImportedStory = { storyId: rows.storyId, ...(earlier ? { copyOf: { storyId: earlier.id, title: earlier.title } } : {}) };
      await recordIdempotentAnswer(tx, options.idempotency, options.answerFor ? options.answerFor(written) : { storyId: rows.storyId, format: options.format });
    });
  } catch (error) {
    throw translateWriteError(error);
  }
  // A long story arrives at once: the embedded planner needs statistics that say so.
  if (parsed.scenes.length >= largeImportScenes) await refreshPlannerStatistics(db);
  return { storyId: rows.storyId, ...(earlier ? { copyOf: { storyId: earlier.id, title: earlier.title } } : {}) };
}

/** Maps each table's file ids to fresh uuids; ids are per table, like the file's own. */
function idMap(rows: readonly { id: string }[]): Map<string, string> {
  return new Map(rows.map((row) => [row.id, randomUUID()]));
}

function buildRows(archive: StoryArchive) {
  const storyId = randomUUID();
  const sceneIds = idMap(archive.scenes);
  const characterIds = idMap(archive.characters);
  const loreIds = idMap(archive.lore_entries);
  const characterMemoryIds = idMap(archive.character_memories);
  const scene = (id: string | null) => (id === null ? null : sceneIds.get(id)!);
  const character = (id: string | null) => (id === null ? null : characterIds.get(id)!);
  const sceneNumbers = new Map(archive.scenes.map((s) => [s.id, s.scene_number]));
  const { story } = archive;

  return {
    storyId,
    story: [
      storyId,
      story.title,
      story.setting,
      story.instructions,
      story.system_prompt,
      story.status,
      String(story.seed),
      JSON.stringify(story.settings),
      scene(story.head_scene_id),
      story.player_name ?? defaultPlayerName,
    ],
    // Parents first, though the foreign key is checked at the end of the statement anyway.
    scenes: [...archive.scenes]
      .sort((a, b) => a.scene_number - b.scene_number)
      .map((s) => ({
        id: scene(s.id),
        parent_scene_id: scene(s.parent_id),
        parent_scene_number: s.parent_id === null ? null : sceneNumbers.get(s.parent_id)!,
        scene_number: s.scene_number,
        choice_number: s.choice_number,
        instruction: s.instruction,
        content: s.content,
        raw_output: s.raw_output,
        provider: s.provider,
        model: s.model,
        metadata: s.metadata,
        created_at: s.created_at,
      })),
    choices: archive.scenes.flatMap((s) =>
      s.choices.map((c) => ({ scene_id: scene(s.id), choice_number: c.number, content: c.content, selected: c.selected })),
    ),
    userInstructions: archive.user_instructions.map((u) => ({ id: randomUUID(), scene_id: scene(u.scene_id), content: u.content, created_at: u.created_at })),
    characters: archive.characters.map((c) => ({
      id: character(c.id),
      name: c.name,
      description: c.description,
      personality: c.personality,
      goals: c.goals,
      background: c.background,
      mood: c.mood,
      emotion_valence: c.emotion.valence,
      emotion_arousal: c.emotion.arousal,
      emotion_dominance: c.emotion.dominance,
      metadata: c.metadata,
      first_scene_id: scene(c.first_scene_id),
      version: c.version,
      created_at: c.created_at,
      updated_at: c.updated_at,
    })),
    sceneCharacters: archive.scene_characters.map((l) => ({ scene_id: scene(l.scene_id), character_id: character(l.character_id), role: l.role, importance: l.importance })),
    memories: archive.memories.map((m) => ({
      id: randomUUID(),
      kind: m.kind,
      scene_id: scene(m.scene_id),
      through_scene_number: m.through_scene_number,
      content: m.content,
      importance: m.importance,
      created_at: m.created_at,
    })),
    characterMemories: archive.character_memories.map((m) => ({
      id: characterMemoryIds.get(m.id)!,
      character_id: character(m.character_id),
      scene_id: scene(m.scene_id),
      kind: m.kind,
      content: m.content,
      emotional_valence: m.valence,
      importance: m.importance,
      last_accessed_at: m.last_accessed_at,
      created_at: m.created_at,
      evidence_memory_ids: (m.evidence_memory_ids ?? []).map((id) => characterMemoryIds.get(id)!),
    })),
    storyFacts: (archive.story_facts ?? []).map((f) => ({
      scene_id: scene(f.scene_id),
      seq: f.seq,
      op: f.op,
      fact_type: f.fact_type,
      fact_key: f.fact_key,
      content: f.content,
      created_at: f.created_at,
    })),
    relationships: archive.character_relationships.map((r) => ({
      id: randomUUID(),
      character_id: character(r.character_id),
      target_character_id: character(r.target_character_id),
      sentiment: r.sentiment,
      trust: r.trust,
      familiarity: r.familiarity,
      type: r.type,
      interaction_count: r.interaction_count,
      updated_at: r.updated_at,
    })),
    prompts: {
      texts: (archive.prompt_texts ?? []).map((t) => ({ hash: t.id, content: t.content })),
      prompts: (archive.scene_prompts ?? []).map((p) => ({
        sceneId: scene(p.scene_id)!,
        provider: p.provider,
        model: p.model,
        contextWindow: p.context_window,
        contextSource: p.context_source,
        numCtx: p.num_ctx,
        maxTokens: p.max_tokens,
        structuredOutput: p.structured_output,
        promptTokens: p.prompt_tokens,
        tokenizer: p.tokenizer,
        sections: p.sections,
        createdAt: p.created_at,
        messages: p.messages.map((m) => ('text_id' in m ? { role: m.role, textHash: m.text_id } : { role: m.role, content: m.content })),
      })),
    } satisfies StoredStoryPrompts,
    characterAssets: (archive.character_assets ?? []).map((a) => ({
      id: randomUUID(),
      character_id: character(a.character_id),
      kind: a.kind,
      name: a.name,
      uri: a.uri,
      ext: a.ext,
      media_type: a.media_type,
      data: a.data,
      position: a.position,
      created_at: a.created_at,
    })),
    loreActivations: (archive.lore_activations ?? []).map((a) => ({ scene_id: scene(a.scene_id), lore_entry_id: loreIds.get(a.lore_entry_id)! })),
    loreEntries: archive.lore_entries.map((e) => ({
      id: loreIds.get(e.id)!,
      title: e.title,
      keywords: e.keywords,
      content: e.content,
      enabled: e.enabled,
      metadata: e.metadata,
      version: e.version,
      // Each option under its column's name; older archives lack some and get the defaults.
      ...Object.fromEntries(
        optionColumns.map(([field, column]) => [column, (e.options as Record<string, unknown> | undefined)?.[column] ?? defaultLoreOptions[field]]),
      ),
      created_at: e.created_at,
      updated_at: e.updated_at,
    })),
  };
}

type Rows = ReturnType<typeof buildRows>;

/**
 * One statement per table, whatever the size of the story: the rows travel as one jsonb
 * array and jsonb_to_recordset turns them back into typed columns.
 */
async function insertMany(tx: Queryable, table: string, columns: string, rows: readonly object[], storyId: string): Promise<void> {
  if (rows.length === 0) return;
  const names = columns
    .split(',')
    .map((c) => c.trim().split(/\s+/)[0])
    .join(', ');
  await tx.query(`INSERT INTO ${table} (story_id, ${names}) SELECT $1, ${names} FROM jsonb_to_recordset($2::jsonb) AS r(${columns})`, [
    storyId,
    JSON.stringify(rows),
  ]);
}

async function insertRows(tx: Queryable, rows: Rows): Promise<void> {
  const { storyId } = rows;
  // The head's foreign key is deferred to commit, so the story can name it before the scenes exist.
  await tx.query(
    `INSERT INTO stories (id, title, setting, instructions, system_prompt, status, seed, settings, head_scene_id, player_name)
     VALUES ($1, $2, $3, $4, $5, $6, $7::bigint, $8::jsonb, $9, $10)`,
    rows.story,
  );
  await insertMany(
    tx,
    'scenes',
    `id uuid, parent_scene_id uuid, parent_scene_number int, scene_number int, choice_number int, instruction text,
     content text, raw_output text, provider text, model text, metadata jsonb, created_at timestamptz`,
    rows.scenes,
    storyId,
  );
  await insertMany(tx, 'choices', 'scene_id uuid, choice_number int, content text, selected boolean', rows.choices, storyId);
  await insertMany(tx, 'user_instructions', 'id uuid, scene_id uuid, content text, created_at timestamptz', rows.userInstructions, storyId);
  await insertMany(
    tx,
    'characters',
    `id uuid, name text, description text, personality text, goals text, background text, mood text,
     emotion_valence real, emotion_arousal real, emotion_dominance real, metadata jsonb, first_scene_id uuid,
     version bigint, created_at timestamptz, updated_at timestamptz`,
    rows.characters,
    storyId,
  );
  await insertMany(tx, 'scene_characters', 'scene_id uuid, character_id uuid, role text, importance real', rows.sceneCharacters, storyId);
  await insertMany(
    tx,
    'memories',
    'id uuid, kind text, scene_id uuid, through_scene_number int, content text, importance real, created_at timestamptz',
    rows.memories,
    storyId,
  );
  await insertMany(
    tx,
    'character_memories',
    `id uuid, character_id uuid, scene_id uuid, kind text, content text, emotional_valence real, importance real,
     last_accessed_at timestamptz, created_at timestamptz, evidence_memory_ids uuid[]`,
    rows.characterMemories,
    storyId,
  );
  await insertMany(
    tx,
    'story_facts',
    'scene_id uuid, seq int, op text, fact_type text, fact_key text, content text, created_at timestamptz',
    rows.storyFacts,
    storyId,
  );
  await insertMany(
    tx,
    'character_relationships',
    `id uuid, character_id uuid, target_character_id uuid, sentiment real, trust real, familiarity real, type text,
     interaction_count int, updated_at timestamptz`,
    rows.relationships,
    storyId,
  );
  await insertMany(
    tx,
    'lore_entries',
    `id uuid, title text, keywords text[], content text, enabled boolean, metadata jsonb, version bigint,
     ${optionColumns.map(([, column, type]) => `${column} ${type}`).join(', ')}, created_at timestamptz, updated_at timestamptz`,
    rows.loreEntries,
    storyId,
  );
  await insertMany(tx, 'scene_lore_activations', 'scene_id uuid, lore_entry_id uuid', rows.loreActivations, storyId);
  // A card's files: base64 in the file, bytes in the table.
  if (rows.characterAssets.length > 0) {
    await tx.query(
      `INSERT INTO character_assets (story_id, id, character_id, kind, name, uri, ext, media_type, data, position, created_at)
       SELECT $1, r.id, r.character_id, r.kind, r.name, r.uri, r.ext, r.media_type, decode(r.data, 'base64'), r.position, r.created_at
       FROM jsonb_to_recordset($2::jsonb) AS r(id uuid, character_id uuid, kind text, name text, uri text, ext text, media_type text,
                                              data text, position int, created_at timestamptz)`,
      [storyId, JSON.stringify(rows.characterAssets)],
    );
  }
  // The archive carries one current state per character; the world of every scene is built
  // from it the way migration 0006 built it for stories that existed before the world tree.
  await tx.query('SELECT lw_seed_world_states($1)', [storyId]);
  await insertStoredStoryPrompts(tx, storyId, rows.prompts);
}

/**
 * The validation mirrors the schema, so the database should accept everything it passed.
 * If a constraint still refuses a row (a rule the validation approximates, such as the
 * normalised name), the file is at fault: report it as `validation`, not as a crash.
 */
function translateWriteError(error: unknown): unknown {
  const state = sqlStateOf(error);
  if (state !== undefined && (state.startsWith('22') || state.startsWith('23'))) {
    const pg = pgErrorOf(error);
    const where = [pg?.table, pg?.constraint].filter(Boolean).join(', constraint ');
    return new AppError('validation', `Invalid story archive: the database refused it${where ? ` (table ${where})` : ''}. Nothing was imported.`, {
      cause: error,
      details: { sqlstate: state, ...(pg?.constraint ? { constraint: pg.constraint } : {}) },
    });
  }
  return error;
}
