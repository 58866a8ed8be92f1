import { AppError } from '../errors.js';
import { isPng } from './card-png.js';
import { STORY_ARCHIVE_FORMAT } from './story-archive.js';
import { isPlainObject, jsonValueProblem, formatJsonPath, type JsonObject } from './validation.js';

/**
 * SillyTavern World Info (a lorebook file): `{entries: {"0": {...}, "1": {...}}, name?, …}`,
 * entries keyed by their uid. A card's `character_book` (`{entries: [{keys, content…}]}`)
 * is read too. Anything else is refused with what it looks like and what is accepted.
 */
export type LorebookFormat = 'world_info' | 'character_book';

export interface ParsedLorebook {
  format: LorebookFormat;
  /** Each entry with the key it had in the file ("0", "1"… for World Info; its index for a book). */
  entries: { key: string; entry: JsonObject }[];
  /** The file's other top-level fields, kept so that they survive export. */
  bookFields: JsonObject;
}

export const MAX_LOREBOOK_BYTES = 20 * 1024 * 1024;
export const MAX_LOREBOOK_ENTRIES = 10_000;

const accepted = 'Lore import reads a SillyTavern World Info file ({"entries": {"0": {"key": [...], "content": "..."}}}) or a character_book ({"entries": [{"keys": [...], "content": "..."}]}).';

function refuse(what: string): AppError {
  return new AppError('validation', `This file is ${what}, not a lorebook. ${accepted}`, { details: { expected: 'world_info' } });
}

/** What a JSON document that is not a lorebook looks like, for the refusal. */
function describeOther(value: Record<string, unknown>): string {
  const spec = value['spec'];
  if (spec === 'chara_card_v2' || spec === 'chara_card_v3') {
    const data = isPlainObject(value['data']) ? value['data'] : {};
    const name = typeof data['name'] === 'string' ? ` for "${data['name'].slice(0, 60)}"` : '';
    return `a character card (${spec})${name}; start a story from it with \`livingworld new --card FILE\` or POST /api/cards, and its character_book becomes the story's lore`;
  }
  if (typeof value['name'] === 'string' && ('first_mes' in value || 'mes_example' in value || 'personality' in value)) {
    return 'a V1 character card; start a story from it with `livingworld new --card FILE`';
  }
  if (value['format_version'] === STORY_ARCHIVE_FORMAT) return 'a LivingWorld story export; import it with `livingworld import FILE`';
  if (value['format_version'] === '1.0' && 'scenes' in value) return 'an export of the Python LivingWorld; import it with `livingworld import FILE`';
  const keys = Object.keys(value).slice(0, 5);
  return keys.length === 0 ? 'an empty JSON object' : `a JSON object with the fields ${keys.map((k) => JSON.stringify(k.slice(0, 30))).join(', ')} and no "entries"`;
}

/** Reads a World Info file or character_book from its bytes or text; refuses anything else. */
export function parseLorebook(content: Buffer | string | unknown): ParsedLorebook {
  let raw: unknown = content;
  if (Buffer.isBuffer(content) || typeof content === 'string') {
    const size = typeof content === 'string' ? Buffer.byteLength(content, 'utf8') : content.length;
    if (size > MAX_LOREBOOK_BYTES) throw new AppError('validation', `The lorebook is ${size} bytes; the largest accepted is ${MAX_LOREBOOK_BYTES}.`);
    if (Buffer.isBuffer(content) && isPng(content)) throw refuse('a PNG image (a character card?); start a story from it with `livingworld new --card FILE`');
    if (Buffer.isBuffer(content) && content.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'))) {
      throw refuse('a zip archive (a CHARX character card?); start a story from it with `livingworld new --card FILE`');
    }
    const text = (typeof content === 'string' ? content : content.toString('utf8')).replace(/^\uFEFF/, '');
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw refuse(`not valid JSON (${(error as Error).message})`);
    }
  }
  if (!isPlainObject(raw)) throw refuse(Array.isArray(raw) ? 'a JSON array' : `a JSON ${raw === null ? 'null' : typeof raw}`);
  const { entries, ...bookFields } = raw;
  if (entries === undefined) throw refuse(describeOther(raw));
  const problem = jsonValueProblem(raw, MAX_LOREBOOK_BYTES);
  if (problem) throw new AppError('validation', `Invalid lorebook: ${formatJsonPath(problem.path)}: ${problem.message}`);

  let format: LorebookFormat;
  let list: { key: string; entry: unknown }[];
  if (Array.isArray(entries)) {
    format = 'character_book';
    list = entries.map((entry, index) => ({ key: String(index), entry }));
  } else if (isPlainObject(entries)) {
    format = 'world_info';
    list = Object.entries(entries).map(([key, entry]) => ({ key, entry }));
  } else {
    throw new AppError('validation', `Invalid lorebook: entries is ${entries === null ? 'null' : typeof entries}; ${accepted}`);
  }
  if (list.length > MAX_LOREBOOK_ENTRIES) throw new AppError('validation', `The lorebook has ${list.length} entries; at most ${MAX_LOREBOOK_ENTRIES} are accepted.`);
  const keyField = format === 'world_info' ? 'key' : 'keys';
  for (const { key, entry } of list) {
    const where = format === 'world_info' ? `entries[${JSON.stringify(key)}]` : `entries[${key}]`;
    if (!isPlainObject(entry)) throw new AppError('validation', `Invalid lorebook: ${where} is not an object.`);
    if (entry[keyField] !== undefined && !Array.isArray(entry[keyField])) throw new AppError('validation', `Invalid lorebook: ${where}.${keyField} must be a list of keywords.`);
    if (entry['content'] !== undefined && entry['content'] !== null && typeof entry['content'] !== 'string') {
      throw new AppError('validation', `Invalid lorebook: ${where}.content must be text.`);
    }
  }
  return { format, entries: list as ParsedLorebook['entries'], bookFields: bookFields as JsonObject };
}
