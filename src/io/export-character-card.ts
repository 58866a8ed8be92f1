import type { Queryable } from '../db/index.js';
import { AppError } from '../errors.js';
import { writePngWithText } from './card-png.js';
import { cardColumnLimits, fitToColumn, loreKeywordsOf, loreTitleOf, type StoredCharacterCard } from './import-character-card.js';
import { isPlainObject, isUuid, type JsonObject, type JsonValue } from './validation.js';

export interface ExportCharacterCardOptions {
  format: 'json' | 'png';
  /** JSON only: 3 (default) or 2. A PNG always carries both. */
  version?: 2 | 3;
}

export type ExportedCharacterCard =
  | { format: 'json'; mediaType: 'application/json'; filename: string; content: string }
  | { format: 'png'; mediaType: 'image/png'; filename: string; content: Buffer };

interface CharacterRow {
  name: string;
  description: string;
  personality: string;
  goals: string;
  background: string;
  mood: string;
  metadata: unknown;
}

interface LoreRow {
  title: string;
  keywords: string[];
  content: string;
  enabled: boolean;
  metadata: unknown;
}

/**
 * The column's value, unless it is still exactly what the import derived from the card's
 * original: then the original, so that text cut to fit a column comes back whole.
 */
function currentOrOriginal(current: string, original: JsonValue | undefined, derive: (original: string) => string): JsonValue {
  return typeof original === 'string' && derive(original) === current ? original : current;
}

const sameKeywords = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((k, i) => k === b[i]);

function storedCardOf(metadata: unknown): StoredCharacterCard | undefined {
  const stored = isPlainObject(metadata) ? metadata['character_card'] : undefined;
  if (!isPlainObject(stored) || !isPlainObject(stored['data']) || typeof stored['link_id'] !== 'string') return undefined;
  return {
    link_id: stored['link_id'],
    spec: String(stored['spec'] ?? ''),
    spec_version: String(stored['spec_version'] ?? ''),
    other_fields: isPlainObject(stored['other_fields']) ? (stored['other_fields'] as JsonObject) : {},
    data: stored['data'] as JsonObject,
    unimported_book_entries: Array.isArray(stored['unimported_book_entries']) ? (stored['unimported_book_entries'] as StoredCharacterCard['unimported_book_entries']) : [],
  };
}

function bookEntryFromLore(row: LoreRow, original: JsonObject, index: number, nameAtImport: string): JsonObject {
  const entry: JsonObject = { ...original };
  if (!sameKeywords(row.keywords, loreKeywordsOf(original))) entry['keys'] = row.keywords;
  entry['content'] = currentOrOriginal(row.content, original['content'], (c) => fitToColumn(c, cardColumnLimits.loreContent));
  if ((original['enabled'] !== false) !== row.enabled || typeof original['enabled'] !== 'boolean') entry['enabled'] = row.enabled;
  if (row.title !== loreTitleOf(original, index, nameAtImport)) {
    const titleKey = typeof original['name'] === 'string' && original['name'].trim() !== '' ? 'name' : typeof original['comment'] === 'string' && original['comment'].trim() !== '' ? 'comment' : 'name';
    entry[titleKey] = row.title;
  }
  return entry;
}

/** Fills what the spec requires of an entry and a card's data, without touching what is there. */
function completeEntry(entry: JsonObject, index: number, version: 2 | 3): JsonObject {
  const complete: JsonObject = { keys: [], content: '', extensions: {}, enabled: true, insertion_order: index, ...entry };
  if (version === 3 && typeof complete['use_regex'] !== 'boolean') complete['use_regex'] = false;
  return complete;
}

function completeData(data: JsonObject, version: 2 | 3): JsonObject {
  const complete: JsonObject = {
    name: '',
    description: '',
    personality: '',
    scenario: '',
    first_mes: '',
    mes_example: '',
    creator_notes: '',
    system_prompt: '',
    post_history_instructions: '',
    alternate_greetings: [],
    tags: [],
    creator: '',
    character_version: '',
    extensions: {},
    ...data,
  };
  if (version === 3 && !Array.isArray(complete['group_only_greetings'])) complete['group_only_greetings'] = [];
  const book = complete['character_book'];
  if (isPlainObject(book) && Array.isArray(book['entries'])) {
    complete['character_book'] = { extensions: {}, ...book, entries: (book['entries'] as JsonObject[]).map((e, i) => completeEntry(e, i, version)) };
  }
  return complete;
}

/**
 * The card's `data` from the character as it is now, on top of the card it was imported from
 * (so unknown fields and extensions survive), with its book rebuilt from the lore entries
 * made from that card (edited or deleted ones included as they now are).
 */
export function buildCardData(character: CharacterRow, lore: readonly LoreRow[]): { data: JsonObject; stored: StoredCharacterCard | undefined } {
  const stored = storedCardOf(character.metadata);
  const original = stored?.data ?? {};
  const nameAtImport = typeof original['name'] === 'string' ? original['name'].trim() : '';
  const data: JsonObject = { ...original };
  data['name'] = currentOrOriginal(character.name, original['name'], (n) => n.trim());
  data['description'] = currentOrOriginal(character.description, original['description'], (d) => fitToColumn(d, cardColumnLimits.description));
  data['personality'] = currentOrOriginal(character.personality, original['personality'], (p) => fitToColumn(p, cardColumnLimits.personality));
  data['scenario'] = currentOrOriginal(character.background, original['scenario'], (s) => fitToColumn(s, cardColumnLimits.background));
  if (character.goals !== '' || character.mood !== 'neutral' || !stored) {
    const extensions = isPlainObject(data['extensions']) ? (data['extensions'] as JsonObject) : {};
    data['extensions'] = { ...extensions, livingworld: { goals: character.goals, mood: character.mood } };
  }

  const entries: { index: number; entry: JsonObject }[] = [...(stored?.unimported_book_entries ?? [])];
  for (const row of lore) {
    const link = isPlainObject(row.metadata) ? row.metadata['character_card'] : undefined;
    if (!isPlainObject(link) || typeof link['index'] !== 'number' || !isPlainObject(link['entry'])) continue;
    entries.push({ index: link['index'], entry: bookEntryFromLore(row, link['entry'] as JsonObject, link['index'], nameAtImport) });
  }
  entries.sort((a, b) => a.index - b.index);
  const storedBook = original['character_book'];
  if (isPlainObject(storedBook) || entries.length > 0) {
    data['character_book'] = { ...(isPlainObject(storedBook) ? (storedBook as JsonObject) : {}), entries: entries.map((e) => e.entry) };
  }
  return { data, stored };
}

export function cardDocument(data: JsonObject, stored: StoredCharacterCard | undefined, version: 2 | 3): JsonObject {
  const completed = completeData(data, version);
  return version === 3
    ? { ...(stored?.other_fields ?? {}), spec: 'chara_card_v3', spec_version: '3.0', data: completed }
    : { ...(stored?.other_fields ?? {}), spec: 'chara_card_v2', spec_version: '2.0', data: completed };
}

function fileStem(name: string): string {
  return (
    name
      .normalize('NFKD')
      .replace(/[^\p{L}\p{N}]+/gu, '-')
      .replace(/^-+|-+$/g, '')
      .toLowerCase()
      .slice(0, 60) || 'character'
  );
}

/**
 * A character as a Character Card: JSON (V3 `spec_version: "3.0"` by default, V2 on request)
 * or a 64×64 PNG carrying both a `chara` (V2) and a `ccv3` (V3) tEXt chunk.
 */
export async function exportCharacterCard(
  db: Queryable,
  storyId: string,
  characterId: string,
  options: ExportCharacterCardOptions,
): Promise<ExportedCharacterCard> {
  if (!isUuid(storyId) || !isUuid(characterId)) throw new AppError('not_found', `Character ${characterId} does not exist in story ${storyId}.`);
  // One statement, one snapshot: the character and the lore entries made from its card.
  const { rows } = await db.query<{ character: string | null; lore: string }>(
    `SELECT (SELECT row_to_json(c)::text FROM (SELECT name, description, personality, goals, background, mood, metadata
                                               FROM characters WHERE story_id = $1 AND id = $2) c) AS character,
            (SELECT coalesce(json_agg(json_build_object('title', e.title, 'keywords', to_json(e.keywords), 'content', e.content,
                                                        'enabled', e.enabled, 'metadata', e.metadata) ORDER BY e.created_at, e.id), '[]'::json)::text
             FROM lore_entries e, characters ch
             WHERE ch.story_id = $1 AND ch.id = $2 AND e.story_id = $1
               AND e.metadata -> 'character_card' ->> 'link_id' = ch.metadata -> 'character_card' ->> 'link_id') AS lore`,
    [storyId, characterId],
  );
  const characterJson = rows[0]?.character;
  if (!characterJson) throw new AppError('not_found', `Character ${characterId} does not exist in story ${storyId}.`);
  const character = JSON.parse(characterJson) as CharacterRow;
  const { data, stored } = buildCardData(character, JSON.parse(rows[0]!.lore) as LoreRow[]);
  const stem = fileStem(character.name);
  if (options.format === 'png') {
    const base64 = (card: JsonObject) => Buffer.from(JSON.stringify(card), 'utf8').toString('base64');
    const png = writePngWithText(
      [
        ['chara', base64(cardDocument(data, stored, 2))],
        ['ccv3', base64(cardDocument(data, stored, 3))],
      ],
      character.name,
    );
    return { format: 'png', mediaType: 'image/png', filename: `${stem}.png`, content: png };
  }
  const version = options.version ?? 3;
  return {
    format: 'json',
    mediaType: 'application/json',
    filename: `${stem}.card.json`,
    content: `${JSON.stringify(cardDocument(data, stored, version), null, 2)}\n`,
  };
}
