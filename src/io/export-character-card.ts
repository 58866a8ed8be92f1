import type { Queryable } from '../db/index.js';
import { AppError } from '../errors.js';
import { writePngWithText } from './card-png.js';
import { charxUri, pngAssetPrefix, pngAssetUri, rewritePngText, writeCharx } from './card-assets.js';
import { cardColumnLimits, fitToColumn, type StoredCharacterCard } from './import-character-card.js';
import { cardBookCodec, exportLoreEntry, loreFieldsOf } from './lore-codecs.js';
import { loreColumns, toLoreEntry, type LoreEntry, type LoreRow as StoredLoreRow } from '../memory/lore-repo.js';
import { isPlainObject, isUuid, type JsonObject, type JsonValue } from './validation.js';

export interface ExportCharacterCardOptions {
  format: 'json' | 'png' | 'charx';
  /** JSON only: 3 (default) or 2. A PNG always carries both. */
  version?: 2 | 3;
}

export type ExportedCharacterCard =
  | { format: 'json'; mediaType: 'application/json'; filename: string; content: string }
  | { format: 'png'; mediaType: 'image/png'; filename: string; content: Buffer }
  | { format: 'charx'; mediaType: 'application/zip'; filename: string; content: Buffer };

interface CharacterRow {
  name: string;
  description: string;
  personality: string;
  goals: string;
  background: string;
  mood: string;
  metadata: unknown;
}

type LoreRow = LoreEntry;

/**
 * The column's value, unless it is still exactly what the import derived from the card's
 * original: then the original, so that text cut to fit a column comes back whole.
 */
function currentOrOriginal(current: string, original: JsonValue | undefined, derive: (original: string) => string): JsonValue {
  return typeof original === 'string' && derive(original) === current ? original : current;
}

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
  const fallbackTitle = (index: number) => `${nameAtImport}: entry ${index + 1}`;
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
    entries.push({ index: link['index'], entry: exportLoreEntry(cardBookCodec, loreFieldsOf(row), link['entry'] as JsonObject, fallbackTitle(link['index']), link['index']) });
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

/** A file name stem from any title: ASCII letters, digits and dashes. */
export function fileStem(name: string, fallback = 'character'): string {
  return (
    name
      .normalize('NFKD')
      .replace(/[^\p{L}\p{N}]+/gu, '-')
      .replace(/^-+|-+$/g, '')
      .toLowerCase()
      .slice(0, 60) || fallback
  );
}

interface StoredAsset {
  kind: string;
  uri: string;
  name: string;
  ext: string;
  data: Buffer;
}

async function loadAssets(db: Queryable, storyId: string, characterId: string): Promise<StoredAsset[]> {
  const { rows } = await db.query<{ kind: string; uri: string; name: string; ext: string; data: Uint8Array }>(
    `SELECT kind, uri, name, ext, data FROM character_assets WHERE story_id = $1 AND character_id = $2 ORDER BY position, created_at, id`,
    [storyId, characterId],
  );
  return rows.map((row) => ({ ...row, data: Buffer.from(row.data) }));
}

/** The card's assets list with each uri moved to where this export puts the file. */
function withAssetUris(data: JsonObject, uris: ReadonlyMap<string, string>, addIcon?: string): JsonObject {
  const listed = Array.isArray(data['assets']) ? (data['assets'] as JsonValue[]) : undefined;
  if (!listed && !addIcon) return data;
  const assets = (listed ?? []).map((asset) =>
    isPlainObject(asset) && typeof asset['uri'] === 'string' && uris.has(asset['uri']) ? { ...asset, uri: uris.get(asset['uri'])! } : asset,
  );
  if (addIcon && !assets.some((asset) => isPlainObject(asset) && asset['type'] === 'icon')) assets.unshift({ type: 'icon', uri: addIcon, name: 'main', ext: 'png' });
  return { ...data, assets };
}

const safeSegment = (text: string) => text.normalize('NFKD').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 80) || 'file';

/**
 * The card's own PNG (its image data untouched) with fresh chara/ccv3 chunks and its assets
 * as `chara-ext-asset_:PATH` chunks; a generated square only for a card that had no art.
 */
function exportPng(data: JsonObject, stored: StoredCharacterCard | undefined, assets: StoredAsset[], name: string): Buffer {
  const image = assets.find((a) => a.kind === 'card_image') ?? assets.find((a) => a.kind === 'icon' && a.ext.toLowerCase() === 'png');
  const embedded = assets.filter((a) => a.kind !== 'card_image');
  const used = new Set(embedded.filter((a) => a.uri.startsWith(pngAssetUri)).map((a) => a.uri.slice(pngAssetUri.length)));
  const uris = new Map<string, string>();
  const chunks: [string, string][] = [];
  let next = 0;
  for (const asset of embedded) {
    let path = asset.uri.startsWith(pngAssetUri) ? asset.uri.slice(pngAssetUri.length) : undefined;
    if (path === undefined) {
      while (used.has(String(next))) next++;
      path = String(next);
      used.add(path);
    }
    uris.set(asset.uri, `${pngAssetUri}${path}`);
    chunks.push([`${pngAssetPrefix}${path}`, asset.data.toString('base64')]);
  }
  const withUris = withAssetUris(data, uris);
  const base64 = (card: JsonObject) => Buffer.from(JSON.stringify(card), 'utf8').toString('base64');
  const texts: [string, string][] = [['chara', base64(cardDocument(withUris, stored, 2))], ['ccv3', base64(cardDocument(withUris, stored, 3))], ...chunks];
  return image ? rewritePngText(image.data, texts) : writePngWithText(texts, name);
}

/** A CHARX zip: the V3 card.json and every file under the path its `embeded://` uri names. */
function exportCharx(data: JsonObject, stored: StoredCharacterCard | undefined, assets: StoredAsset[]): Buffer {
  const files: { path: string; data: Buffer }[] = [];
  const uris = new Map<string, string>();
  const taken = new Set<string>();
  const place = (wanted: string) => {
    let path = wanted;
    for (let n = 2; taken.has(path); n++) path = wanted.replace(/(\.[^./]*)?$/, `-${n}$1`);
    taken.add(path);
    return path;
  };
  for (const asset of assets.filter((a) => a.uri.startsWith(charxUri))) {
    const path = place(asset.uri.slice(charxUri.length));
    files.push({ path, data: asset.data });
    uris.set(asset.uri, `${charxUri}${path}`);
  }
  let icon: string | undefined;
  for (const asset of assets.filter((a) => !a.uri.startsWith(charxUri))) {
    const folder = asset.kind === 'card_image' ? 'icon' : safeSegment(asset.kind);
    const path = place(`assets/${folder}/${asset.kind === 'card_image' ? 'images' : 'files'}/${safeSegment(asset.name)}${asset.ext ? `.${safeSegment(asset.ext)}` : ''}`);
    files.push({ path, data: asset.data });
    if (asset.kind === 'card_image') {
      icon = `${charxUri}${path}`;
      uris.set('ccdefault:', icon);
    } else uris.set(asset.uri, `${charxUri}${path}`);
  }
  return writeCharx(cardDocument(withAssetUris(data, uris, icon), stored, 3), files);
}

/**
 * A character as a Character Card: JSON (V3 `spec_version: "3.0"` by default, V2 on request),
 * a PNG carrying both a `chara` (V2) and a `ccv3` (V3) tEXt chunk — the card's own art when
 * it came with one — or a CHARX zip with its files.
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
            (SELECT coalesce(json_agg(row_to_json(e) ORDER BY e.created_at, e.id), '[]'::json)::text
             FROM (SELECT ${loreColumns.split(', ').map((c) => `l.${c}`).join(', ')} FROM lore_entries l, characters ch
                   WHERE ch.story_id = $1 AND ch.id = $2 AND l.story_id = $1
                     AND l.metadata -> 'character_card' ->> 'link_id' = ch.metadata -> 'character_card' ->> 'link_id') e) AS lore`,
    [storyId, characterId],
  );
  const characterJson = rows[0]?.character;
  if (!characterJson) throw new AppError('not_found', `Character ${characterId} does not exist in story ${storyId}.`);
  const character = JSON.parse(characterJson) as CharacterRow;
  const lore = (JSON.parse(rows[0]!.lore) as StoredLoreRow[]).map(toLoreEntry);
  const { data, stored } = buildCardData(character, lore);
  const stem = fileStem(character.name);
  if (options.format === 'png') {
    const png = exportPng(data, stored, await loadAssets(db, storyId, characterId), character.name);
    return { format: 'png', mediaType: 'image/png', filename: `${stem}.png`, content: png };
  }
  if (options.format === 'charx') {
    const charx = exportCharx(data, stored, await loadAssets(db, storyId, characterId));
    return { format: 'charx', mediaType: 'application/zip', filename: `${stem}.charx`, content: charx };
  }
  const version = options.version ?? 3;
  return {
    format: 'json',
    mediaType: 'application/json',
    filename: `${stem}.card.json`,
    content: `${JSON.stringify(cardDocument(data, stored, version), null, 2)}\n`,
  };
}

// The assets that can be a character's picture: the card's own image, or an image icon.
const avatarAsset = `(kind = 'card_image' OR (kind = 'icon' AND media_type LIKE 'image/%'))`;

/** The character's picture: the card's PNG as imported, else its main icon asset. */
export async function loadCharacterAvatar(db: Queryable, storyId: string, characterId: string): Promise<{ mediaType: string; data: Buffer } | undefined> {
  const { rows } = await db.query<{ media_type: string; data: Uint8Array }>(
    `SELECT media_type, data FROM character_assets
     WHERE story_id = $1 AND character_id = $2 AND ${avatarAsset}
     ORDER BY kind = 'card_image' DESC, name = 'main' DESC, position LIMIT 1`,
    [storyId, characterId],
  );
  return rows[0] ? { mediaType: rows[0].media_type, data: Buffer.from(rows[0].data) } : undefined;
}

/** Which of a story's characters have a picture (loadCharacterAvatar finds one). */
export async function charactersWithAvatar(db: Queryable, storyId: string): Promise<Set<string>> {
  const { rows } = await db.query<{ character_id: string }>(
    `SELECT DISTINCT character_id FROM character_assets WHERE story_id = $1 AND ${avatarAsset}`,
    [storyId],
  );
  return new Set(rows.map((row) => row.character_id));
}
