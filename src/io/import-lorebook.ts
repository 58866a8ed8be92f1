import { randomUUID } from 'node:crypto';
import type { Database, Queryable } from '../db/index.js';
import { withTransaction } from '../db/index.js';
import { recordIdempotentAnswer, type IdempotencyClaim } from '../idempotency/index.js';
import { AppError } from '../errors.js';
import type { Embedder } from '../memory/embedder.js';
import { ensureEmbeddingSettings } from '../memory/embedding-settings.js';
import { embedOrDefer, queueEmbeddingBackfill } from '../memory/embedding-backfill.js';
import { getLogger } from '../logger.js';
import { describeKeywordProblem } from '../memory/lore-keys.js';
import { insertLoreEntries, loreEmbeddingText, type NewLoreEntry } from '../memory/lore-repo.js';
import { unplacedPositions, cardBookCodec, worldInfoCodec, type LoreCodec, type LoreFields } from './lore-codecs.js';
import { parseLorebook, type LorebookFormat } from './world-info.js';
import { isPlainObject, isUuid, textProblem, type JsonObject, type JsonValue } from './validation.js';

export interface ImportLorebookResult {
  storyId: string;
  format: LorebookFormat;
  loreEntryIds: string[];
  /** What was kept for export but does not act, or acts only approximately, in the story. */
  notes: string[];
}

/** One entry planned for the story's lore, or kept aside (no content) for export only. */
export interface PlannedLore {
  row: NewLoreEntry & { id: string };
  fields: LoreFields;
}

/** SillyTavern features that are kept for export but that the story does not act on. */
const inertWorldInfoFields: [field: string, isSet: (value: unknown) => boolean, what: string][] = [
  ['automationId', (v) => typeof v === 'string' && v !== '', 'automation ids'],
  ['characterFilter', (v) => isPlainObject(v) && ['names', 'tags'].some((k) => Array.isArray(v[k]) && v[k].length > 0), 'character filters'],
  ['triggers', (v) => Array.isArray(v) && v.length > 0, 'generation-type triggers'],
  ...['matchPersonaDescription', 'matchCharacterDescription', 'matchCharacterPersonality', 'matchCharacterDepthPrompt', 'matchScenario', 'matchCreatorNotes'].map(
    (field): [string, (value: unknown) => boolean, string] => [field, (v) => v === true, 'additional matching sources'],
  ),
];

/** Notes on one entry: keys that can never match, positions that have no place here. */
function entryNotes(label: string, fields: LoreFields, entry: JsonObject, codec: LoreCodec): string[] {
  const notes: string[] = [];
  for (const key of [...fields.keywords, ...fields.secondaryKeywords]) {
    const problem = describeKeywordProblem(key);
    if (problem) notes.push(`${label}: ${problem}.`);
  }
  const positionCode = codec === worldInfoCodec ? entry['position'] : (entry['extensions'] as JsonObject | undefined)?.['position'];
  if (typeof positionCode === 'number' && unplacedPositions[positionCode]) {
    notes.push(`${label}: position ${unplacedPositions[positionCode]} has no place here; it is placed before the character definitions.`);
  }
  return notes;
}

/**
 * Reads a book's entries into lore rows (ids chosen here, embeddings not yet computed).
 * `link` is stored under each row's metadata so that export finds the entry it came from.
 */
export function planLorebookEntries(
  storyId: string,
  entries: readonly { key: string; entry: JsonObject }[],
  codec: LoreCodec,
  link: (key: string, entry: JsonObject) => JsonObject,
  fallbackTitle: (key: string) => string,
): { planned: PlannedLore[]; unimported: { key: string; entry: JsonObject }[]; notes: string[] } {
  const planned: PlannedLore[] = [];
  const unimported: { key: string; entry: JsonObject }[] = [];
  const notes: string[] = [];
  for (const { key, entry } of entries) {
    const fields = codec.read(entry, fallbackTitle(key));
    const label = `Entry ${JSON.stringify(key)} (${fields.title})`;
    if (fields.content.trim() === '') {
      unimported.push({ key, entry });
      notes.push(`${label} has no content: it is kept for export but adds nothing to the story.`);
      continue;
    }
    const problem = textProblem(fields.content) ?? textProblem(fields.title);
    if (problem) throw new AppError('validation', `Invalid lorebook: ${label} ${problem}.`);
    if (fields.keywords.length === 0 && !fields.constant) notes.push(`${label} has no keywords: it is added only when the story comes close to its meaning.`);
    notes.push(...entryNotes(label, fields, entry, codec));
    const { title, keywords, content, enabled, ...options } = fields;
    planned.push({
      row: { storyId, id: randomUUID(), title, keywords, content, enabled, ...options, metadata: link(key, entry), embedding: null },
      fields,
    });
  }
  return { planned, unimported, notes };
}

/**
 * Embeds planned entries (no transaction open) so that they match by meaning at once. With
 * the embedder down they are stored without (keywords still match); returns true then, for
 * the caller to queue their back-fill in its write.
 */
export async function embedPlannedLore(embedder: Embedder, planned: PlannedLore[]): Promise<boolean> {
  if (planned.length === 0) return false;
  const vectors = await embedOrDefer(embedder, planned.map(({ row }) => loreEmbeddingText(row)), getLogger(), 'import');
  planned.forEach(({ row }, index) => (row.embedding = vectors?.[index] ?? null));
  return vectors === undefined;
}

function inertFeatureNotes(entries: readonly { entry: JsonObject }[]): string[] {
  const counts = new Map<string, number>();
  for (const { entry } of entries) {
    const seen = new Set<string>();
    for (const [field, isSet, what] of inertWorldInfoFields) if (isSet(entry[field])) seen.add(what);
    for (const what of seen) counts.set(what, (counts.get(what) ?? 0) + 1);
  }
  return [...counts].map(([what, count]) => `${what} (${count} ${count === 1 ? 'entry' : 'entries'}) are kept for export but do not act in the story.`);
}

/** Checks the story can take lore, under a key-share lock so it cannot vanish meanwhile. */
export async function lockStoryForLore(tx: Queryable, storyId: string): Promise<void> {
  const story = await tx.query<{ status: string }>('SELECT status FROM stories WHERE id = $1 FOR KEY SHARE', [storyId]);
  if (!story.rows[0]) throw new AppError('not_found', `Story ${storyId} does not exist.`);
  if (story.rows[0].status === 'archived') throw new AppError('story_archived', 'The story is archived; restore it before adding lore.');
}

/**
 * Adds a book's lore to a story, for the story's settings: `scan_depth` and `token_budget`
 * when the book sets them, and the book itself (top-level fields, entries without content)
 * under settings.lore.books so that export gives it back. One statement: no lost update.
 */
export async function recordLorebook(tx: Queryable, storyId: string, book: JsonObject, limits: ReturnType<typeof bookLimits>): Promise<void> {
  await tx.query(
    `UPDATE stories SET settings = jsonb_set(settings, '{lore}',
        coalesce(settings -> 'lore', '{}'::jsonb) || $2::jsonb
        || jsonb_build_object('books', coalesce(settings -> 'lore' -> 'books', '[]'::jsonb) || jsonb_build_array($3::jsonb)))
     WHERE id = $1`,
    [storyId, JSON.stringify(limits), JSON.stringify(book)],
  );
}

/** Scan depth, token budget and recursive scanning as a character_book states them, when sound. */
export function bookLimits(bookFields: JsonObject): { scan_depth?: number; token_budget?: number; recursive_scanning?: boolean } {
  const limits: { scan_depth?: number; token_budget?: number; recursive_scanning?: boolean } = {};
  const scanDepth = bookFields['scan_depth'];
  const tokenBudget = bookFields['token_budget'];
  if (typeof scanDepth === 'number' && Number.isInteger(scanDepth) && scanDepth >= 0 && scanDepth <= 1000) limits.scan_depth = scanDepth;
  if (typeof tokenBudget === 'number' && Number.isInteger(tokenBudget) && tokenBudget >= 1 && tokenBudget <= 20_000) limits.token_budget = tokenBudget;
  if (typeof bookFields['recursive_scanning'] === 'boolean') limits.recursive_scanning = bookFields['recursive_scanning'];
  return limits;
}

/**
 * Imports a SillyTavern World Info file (or a character_book) into a story's lore. Every
 * entry is read and embedded before the one transaction that writes them all; a bad file
 * writes nothing. The answer names what is kept only for export or acts approximately.
 */
export async function importLorebook(
  deps: { db: Database; embedder: Embedder },
  storyId: string,
  content: Buffer | string | unknown,
  idempotency?: IdempotencyClaim,
): Promise<ImportLorebookResult> {
  const book = parseLorebook(content);
  if (!isUuid(storyId)) throw new AppError('not_found', `Story ${storyId} does not exist.`);
  const bookId = randomUUID();
  const codec = book.format === 'world_info' ? worldInfoCodec : cardBookCodec;
  const { planned, unimported, notes } = planLorebookEntries(
    storyId,
    book.entries,
    codec,
    (key, entry) => ({ lorebook: { book_id: bookId, format: book.format, key, entry } }),
    (key) => `Entry ${key}`,
  );
  if (book.format === 'world_info') notes.push(...inertFeatureNotes(book.entries));
  await ensureEmbeddingSettings(deps.db, deps.embedder);
  const deferred = await embedPlannedLore(deps.embedder, planned);
  const record: JsonObject = {
    book_id: bookId,
    format: book.format,
    fields: book.bookFields,
    unimported: unimported.map(({ key, entry }) => ({ key, entry })) as JsonValue,
  };
  const result: ImportLorebookResult = { storyId, format: book.format, loreEntryIds: planned.map((p) => p.row.id), notes };
  await withTransaction(deps.db, {}, async (tx) => {
    await lockStoryForLore(tx, storyId);
    await insertLoreEntries(tx, planned.map((p) => p.row));
    await recordLorebook(tx, storyId, record, book.format === 'character_book' ? bookLimits(book.bookFields) : {});
    if (deferred) await queueEmbeddingBackfill(tx, storyId);
    await recordIdempotentAnswer(tx, idempotency, result);
  });
  return result;
}
