import type { Queryable } from '../db/index.js';
import { AppError } from '../errors.js';
import { loadVectorStore } from './vector-store.js';

/** World info: a fact injected into the context when its keywords appear or it is close in meaning. */
export interface LoreEntry {
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
}

const loreColumns = 'id, story_id, title, keywords, content, enabled, metadata, version, created_at, updated_at';

function toLoreEntry(row: LoreRow): LoreEntry {
  return {
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

function cleanKeywords(keywords: readonly string[] | undefined): string[] {
  const clean = (keywords ?? []).map((k) => (typeof k === 'string' ? k.trim() : '')).filter((k) => k.length > 0 && k.length <= 100);
  return [...new Set(clean)].slice(0, 50);
}

function validateLore(fields: { title?: string; content?: string }): void {
  if (fields.title !== undefined && (fields.title.trim().length === 0 || fields.title.length > 200)) {
    throw new AppError('validation', 'A lore title must have 1 to 200 characters.');
  }
  if (fields.content !== undefined && (fields.content.trim().length === 0 || fields.content.length > 8000)) {
    throw new AppError('validation', 'Lore content must have 1 to 8000 characters.');
  }
}

export interface NewLoreEntry {
  storyId: string;
  title: string;
  keywords?: string[];
  content: string;
  enabled?: boolean;
  /** Of `loreEmbeddingText(entry)`, computed before the call. */
  embedding: number[] | null;
}

export async function createLoreEntry(db: Queryable, entry: NewLoreEntry): Promise<LoreEntry> {
  validateLore(entry);
  const { rows } = await db.query<LoreRow>(
    `INSERT INTO lore_entries (story_id, title, keywords, content, enabled, embedding)
     VALUES ($1, $2, $3::text[], $4, $5, $6::real[]) RETURNING ${loreColumns}`,
    [entry.storyId, entry.title.trim(), cleanKeywords(entry.keywords), entry.content, entry.enabled ?? true, entry.embedding],
  );
  return toLoreEntry(rows[0]!);
}

export async function listLoreEntries(db: Queryable, storyId: string): Promise<LoreEntry[]> {
  const { rows } = await db.query<LoreRow>(`SELECT ${loreColumns} FROM lore_entries WHERE story_id = $1 ORDER BY title, id`, [storyId]);
  return rows.map(toLoreEntry);
}

export interface LorePatch {
  title?: string;
  keywords?: string[];
  content?: string;
  enabled?: boolean;
  /** Required when title or content change: the new embedding. */
  embedding?: number[];
}

/** Optimistic update, as for characters: stale `expectedVersion` → version_conflict. */
export async function updateLoreEntry(
  db: Queryable,
  input: { storyId: string; id: string; expectedVersion: number; patch: LorePatch },
): Promise<LoreEntry> {
  const { patch } = input;
  validateLore(patch);
  if ((patch.title !== undefined || patch.content !== undefined) && patch.embedding === undefined) {
    throw new AppError('internal', 'Changing lore text needs its new embedding.');
  }
  // The embedding is set only when given: COALESCE cannot mix real[] with a vector column.
  const { rows } = await db.query<LoreRow>(
    `UPDATE lore_entries SET
       title = COALESCE($4, title),
       keywords = COALESCE($5::text[], keywords),
       content = COALESCE($6, content),
       enabled = COALESCE($7, enabled),
       ${patch.embedding === undefined ? '' : 'embedding = $8::real[],'}
       version = version + 1,
       updated_at = now()
     WHERE story_id = $1 AND id = $2 AND version = $3
     RETURNING ${loreColumns}`,
    [
      input.storyId,
      input.id,
      input.expectedVersion,
      patch.title?.trim() ?? null,
      patch.keywords === undefined ? null : cleanKeywords(patch.keywords),
      patch.content ?? null,
      patch.enabled ?? null,
      ...(patch.embedding === undefined ? [] : [patch.embedding]),
    ],
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
  const { rowCount } = await db.query(`DELETE FROM lore_entries WHERE story_id = $1 AND id = $2`, [storyId, id]);
  if (rowCount === 0) throw new AppError('not_found', `No lore entry with id ${id}.`);
}

export interface MatchedLore {
  entry: LoreEntry;
  matchedBy: 'keyword' | 'meaning';
  similarity: number | null;
}

/** Cosine similarity above which an entry counts as close in meaning without a keyword. */
export const defaultLoreSimilarityThreshold = 0.5;

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Keyword match, case-insensitive, on word boundaries ("sword" matches "Sword!" but not "swordfish"). */
export function keywordAppears(keyword: string, text: string): boolean {
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}_])${escapeRegex(keyword)}(?![\\p{L}\\p{N}_])`, 'iu');
  return pattern.test(text);
}

/**
 * Enabled entries whose keywords appear in the recent text, then entries close in meaning to
 * the query (above `threshold`), at most `limit` in all, keyword matches first.
 */
export async function matchLore(
  db: Queryable,
  input: { storyId: string; recentText: string; queryEmbedding?: number[]; limit?: number; threshold?: number },
): Promise<MatchedLore[]> {
  const limit = input.limit ?? 5;
  // Keywords are few per story; matching in process keeps word boundaries Unicode-aware.
  const { rows } = await db.query<LoreRow>(
    `SELECT ${loreColumns} FROM lore_entries WHERE story_id = $1 AND enabled AND cardinality(keywords) > 0`,
    [input.storyId],
  );
  const matched: MatchedLore[] = [];
  for (const row of rows) {
    if (row.keywords.some((keyword) => keywordAppears(keyword, input.recentText))) {
      matched.push({ entry: toLoreEntry(row), matchedBy: 'keyword', similarity: null });
    }
  }
  if (input.queryEmbedding && matched.length < limit) {
    const store = await loadVectorStore(db);
    const query = store.nearestSql({
      from: 'lore_entries l',
      column: 'l.embedding',
      select: loreColumns.split(', ').map((c) => `l.${c}`).join(', '),
      where: 'l.story_id = $1 AND l.enabled',
      params: [input.storyId],
      queryEmbedding: input.queryEmbedding,
      dimension: input.queryEmbedding.length,
      limit,
    });
    const { rows: near } = await db.query<LoreRow & { similarity: number | string }>(query.sql, query.params);
    const seen = new Set(matched.map((m) => m.entry.id));
    for (const row of near) {
      const similarity = Number(row.similarity);
      if (similarity < (input.threshold ?? defaultLoreSimilarityThreshold) || seen.has(row.id)) continue;
      matched.push({ entry: toLoreEntry(row), matchedBy: 'meaning', similarity });
    }
  }
  return matched.slice(0, limit);
}
