import type { Queryable } from '../db/index.js';
import { AppError } from '../errors.js';
import { isUuid } from '../story/story-repo.js';
import { optionalEmbeddingParam } from './embedding-param.js';
import { cleanKeywords, defaultLoreOptions, type LoreOptions } from './lore-options.js';

/** World info: a fact injected into the context when its keywords appear or it is close in meaning. */
export interface LoreEntry extends LoreOptions {
  id: string;
  storyId: string;
  title: string;
  keywords: string[];
  content: string;
  enabled: boolean;
  metadata: Record<string, unknown>;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

interface LoreRow {
  id: string;
  story_id: string;
  title: string;
  keywords: string[];
  content: string;
  enabled: boolean;
  metadata: Record<string, unknown>;
  version: number | string;
  created_at: Date | string;
  updated_at: Date | string;
  secondary_keywords: string[];
  selective_logic: LoreOptions['selectiveLogic'];
  constant: boolean;
  insertion_order: number;
  position: LoreOptions['position'];
  depth: number;
  probability: number;
  case_sensitive: boolean;
  match_whole_words: boolean;
  scan_depth: number | null;
  depth_role: LoreOptions['depthRole'];
  inclusion_group: string;
  group_override: boolean;
  group_weight: number;
  use_group_scoring: boolean | null;
  sticky: number;
  cooldown: number;
  delay: number;
  exclude_recursion: boolean;
  prevent_recursion: boolean;
  delay_until_recursion: number;
  ignore_budget: boolean;
}

/** Option fields → their columns (also the story archive's names for them), in the order the SQL below binds them. */
export const optionColumns: readonly [keyof LoreOptions, string, string][] = [
  ['secondaryKeywords', 'secondary_keywords', 'text[]'],
  ['selectiveLogic', 'selective_logic', 'text'],
  ['constant', 'constant', 'boolean'],
  ['insertionOrder', 'insertion_order', 'integer'],
  ['position', 'position', 'text'],
  ['depth', 'depth', 'integer'],
  ['probability', 'probability', 'integer'],
  ['caseSensitive', 'case_sensitive', 'boolean'],
  ['matchWholeWords', 'match_whole_words', 'boolean'],
  ['scanDepth', 'scan_depth', 'integer'],
  ['depthRole', 'depth_role', 'text'],
  ['inclusionGroup', 'inclusion_group', 'text'],
  ['groupOverride', 'group_override', 'boolean'],
  ['groupWeight', 'group_weight', 'integer'],
  ['useGroupScoring', 'use_group_scoring', 'boolean'],
  ['sticky', 'sticky', 'integer'],
  ['cooldown', 'cooldown', 'integer'],
  ['delay', 'delay', 'integer'],
  ['excludeRecursion', 'exclude_recursion', 'boolean'],
  ['preventRecursion', 'prevent_recursion', 'boolean'],
  ['delayUntilRecursion', 'delay_until_recursion', 'integer'],
  ['ignoreBudget', 'ignore_budget', 'boolean'],
];

export const loreColumns =
  'id, story_id, title, keywords, content, enabled, metadata, version, created_at, updated_at, ' + optionColumns.map(([, column]) => column).join(', ');

/** Integer option columns: pg may hand them back as text. */
const integerOptions = new Set(optionColumns.filter(([, , type]) => type === 'integer').map(([field]) => field));

export function toLoreEntry(row: LoreRow): LoreEntry {
  const options = Object.fromEntries(
    optionColumns.map(([field, column]) => {
      const value = (row as unknown as Record<string, unknown>)[column];
      return [field, integerOptions.has(field) && value !== null ? Number(value) : value];
    }),
  ) as unknown as LoreOptions;
  return {
    ...options,
    id: row.id,
    storyId: row.story_id,
    title: row.title,
    keywords: row.keywords,
    content: row.content,
    enabled: row.enabled,
    metadata: row.metadata,
    version: Number(row.version),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

/** The text a lore entry's embedding is computed from; reembedAll uses the same. */
export function loreEmbeddingText(entry: { title: string; content: string }): string {
  return `${entry.title}\n${entry.content}`;
}

export type { LoreRow };

function validateLore(fields: { title?: string; content?: string }): void {
  if (fields.title !== undefined && (fields.title.trim().length === 0 || fields.title.length > 200)) {
    throw new AppError('validation', 'A lore title must have 1 to 200 characters.');
  }
  if (fields.content !== undefined && (fields.content.trim().length === 0 || fields.content.length > 8000)) {
    throw new AppError('validation', 'Lore content must have 1 to 8000 characters.');
  }
}

export interface NewLoreEntry extends Partial<LoreOptions> {
  storyId: string;
  /** Chosen by the caller when other rows refer to the entry before it is written. */
  id?: string;
  title: string;
  keywords?: string[];
  content: string;
  enabled?: boolean;
  metadata?: Record<string, unknown>;
  /** Of `loreEmbeddingText(entry)`, computed before the call. */
  embedding: number[] | null;
}

/** The option values to store, defaults filled and keyword lists cleaned. */
function optionValues(entry: Partial<LoreOptions>): unknown[] {
  const options = { ...defaultLoreOptions, ...entry };
  return optionColumns.map(([field]) => (field === 'secondaryKeywords' ? cleanKeywords(options.secondaryKeywords) : options[field]));
}

/** Inserts entries in one statement (a whole imported book commits together or not at all). */
export async function insertLoreEntries(db: Queryable, entries: readonly NewLoreEntry[]): Promise<LoreEntry[]> {
  if (entries.length === 0) return [];
  entries.forEach(validateLore);
  const records = entries.map((entry) => {
    const record: Record<string, unknown> = {
      id: entry.id ?? null,
      story_id: entry.storyId,
      title: entry.title.trim(),
      keywords: cleanKeywords(entry.keywords),
      content: entry.content,
      enabled: entry.enabled ?? true,
      metadata: entry.metadata ?? {},
      embedding: entry.embedding,
    };
    const values = optionValues(entry);
    optionColumns.forEach(([, column], index) => (record[column] = values[index]));
    return record;
  });
  const recordColumns = optionColumns.map(([, column, type]) => `${column} ${type}`).join(', ');
  const { rows } = await db.query<LoreRow>(
    `INSERT INTO lore_entries (story_id, id, title, keywords, content, enabled, metadata, embedding, ${optionColumns.map(([, c]) => c).join(', ')})
     SELECT r.story_id, coalesce(r.id, gen_random_uuid()), r.title, r.keywords, r.content, r.enabled, r.metadata, r.embedding,
            ${optionColumns.map(([, c]) => `r.${c}`).join(', ')}
     FROM jsonb_to_recordset($1::jsonb) AS r(story_id uuid, id uuid, title text, keywords text[], content text, enabled boolean, metadata jsonb,
                                            embedding real[], ${recordColumns})
     RETURNING ${loreColumns}`,
    [JSON.stringify(records)],
  );
  return rows.map(toLoreEntry);
}

export async function createLoreEntry(db: Queryable, entry: NewLoreEntry): Promise<LoreEntry> {
  const [created] = await insertLoreEntries(db, [entry]);
  return created!;
}

export async function listLoreEntries(db: Queryable, storyId: string): Promise<LoreEntry[]> {
  const { rows } = await db.query<LoreRow>(`SELECT ${loreColumns} FROM lore_entries WHERE story_id = $1 ORDER BY title, id`, [storyId]);
  return rows.map(toLoreEntry);
}

const loreNotFound = (id: string) => new AppError('not_found', `No lore entry with id ${id}.`);

export async function getLoreEntry(db: Queryable, storyId: string, id: string): Promise<LoreEntry> {
  // An id that is not a uuid names no entry; PostgreSQL would refuse the query itself.
  if (!isUuid(storyId) || !isUuid(id)) throw loreNotFound(id);
  const { rows } = await db.query<LoreRow>(`SELECT ${loreColumns} FROM lore_entries WHERE story_id = $1 AND id = $2`, [storyId, id]);
  if (!rows[0]) throw loreNotFound(id);
  return toLoreEntry(rows[0]);
}

export interface LorePatch extends Partial<LoreOptions> {
  title?: string;
  keywords?: string[];
  content?: string;
  enabled?: boolean;
  /** Required when title or content change: the new embedding (null: to be back-filled). */
  embedding?: number[] | null;
}

/** Optimistic update, as for characters: stale `expectedVersion` → version_conflict. */
export async function updateLoreEntry(
  db: Queryable,
  input: { storyId: string; id: string; expectedVersion: number; patch: LorePatch },
): Promise<LoreEntry> {
  const { patch } = input;
  if (!isUuid(input.storyId) || !isUuid(input.id)) throw loreNotFound(input.id);
  validateLore(patch);
  if ((patch.title !== undefined || patch.content !== undefined) && patch.embedding === undefined) {
    throw new AppError('internal', 'Changing lore text needs its new embedding.');
  }
  // Only the fields given are set (scan_depth may be set to NULL, so COALESCE will not do);
  // the embedding likewise, as COALESCE cannot mix real[] with a vector column.
  const params: unknown[] = [
    input.storyId,
    input.id,
    input.expectedVersion,
    patch.title?.trim() ?? null,
    patch.keywords === undefined ? null : cleanKeywords(patch.keywords),
    patch.content ?? null,
    patch.enabled ?? null,
  ];
  const sets: string[] = [];
  for (const [field, column, type] of optionColumns) {
    if (patch[field] === undefined) continue;
    params.push(field === 'secondaryKeywords' ? cleanKeywords(patch.secondaryKeywords) : patch[field]);
    sets.push(`${column} = $${params.length}::${type},`);
  }
  if (patch.embedding !== undefined) {
    params.push(optionalEmbeddingParam(patch.embedding));
    sets.push(`embedding = $${params.length}::real[],`);
  }
  const { rows } = await db.query<LoreRow>(
    `UPDATE lore_entries SET
       title = COALESCE($4, title),
       keywords = COALESCE($5::text[], keywords),
       content = COALESCE($6, content),
       enabled = COALESCE($7, enabled),
       ${sets.join('\n       ')}
       version = version + 1,
       updated_at = now()
     WHERE story_id = $1 AND id = $2 AND version = $3
     RETURNING ${loreColumns}`,
    params,
  );
  if (rows[0]) return toLoreEntry(rows[0]);
  const { rows: current } = await db.query<{ version: number | string }>(`SELECT version FROM lore_entries WHERE story_id = $1 AND id = $2`, [
    input.storyId,
    input.id,
  ]);
  if (!current[0]) throw new AppError('not_found', `No lore entry with id ${input.id}.`);
  throw new AppError('version_conflict', `The lore entry was changed meanwhile (now version ${Number(current[0].version)}); reload it and try again.`, {
    details: { currentVersion: Number(current[0].version) },
  });
}

export async function deleteLoreEntry(db: Queryable, storyId: string, id: string): Promise<void> {
  if (!isUuid(storyId) || !isUuid(id)) throw loreNotFound(id);
  const { rowCount } = await db.query(`DELETE FROM lore_entries WHERE story_id = $1 AND id = $2`, [storyId, id]);
  if (rowCount === 0) throw loreNotFound(id);
}

