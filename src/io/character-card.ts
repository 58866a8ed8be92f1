import { z } from 'zod';
import { AppError } from '../errors.js';
import { isPng, readPngTextChunks } from './card-png.js';
import { assetsListOf, isZip, readCharx, readPngAssets, type CardAsset } from './card-assets.js';
import { importValidationError, isPlainObject, issuesFromZod, jsonValueProblem, formatJsonPath, text, type JsonObject } from './validation.js';

/**
 * Character Card V2 (`chara_card_v2`) and V3 (`chara_card_v3`), as JSON or inside a PNG's
 * `tEXt` chunks (`ccv3` preferred over `chara`, each base64 of UTF-8 JSON). A V1 card (the
 * fields flat at the top level) is read as V2. Only the fields we map are checked strictly;
 * everything else, unknown fields and `extensions` included, is kept as it is.
 */

/** Largest card file (JSON, or PNG with its image) accepted, in bytes. */
export const MAX_CARD_FILE_BYTES = 20 * 1024 * 1024;
/** Largest card JSON, in bytes of UTF-8. */
export const MAX_CARD_JSON_BYTES = 5 * 1024 * 1024;
export const MAX_CARD_TEXT_CHARS = 100_000;
export const MAX_CARD_BOOK_ENTRIES = 10_000;

const cardText = text({ max: MAX_CARD_TEXT_CHARS }).nullish();

const bookEntrySchema = z.looseObject({
  keys: z.array(text({ max: 1000 })).max(1000, 'has more than 1000 keys').nullish(),
  content: cardText,
  enabled: z.boolean().nullish(),
  name: cardText,
  comment: cardText,
  extensions: z.record(z.string(), z.unknown()).nullish(),
});

const characterBookSchema = z.looseObject({
  entries: z.array(bookEntrySchema).max(MAX_CARD_BOOK_ENTRIES, `has more than ${MAX_CARD_BOOK_ENTRIES} entries`).nullish(),
  extensions: z.record(z.string(), z.unknown()).nullish(),
});

const cardDataSchema = z.looseObject({
  name: text({ min: 1, max: 100, trimmedMin: true }),
  description: cardText,
  personality: cardText,
  scenario: cardText,
  first_mes: cardText,
  mes_example: cardText,
  creator_notes: cardText,
  system_prompt: cardText,
  post_history_instructions: cardText,
  alternate_greetings: z.array(z.string()).nullish(),
  tags: z.array(z.string()).nullish(),
  extensions: z.record(z.string(), z.unknown()).nullish(),
  character_book: characterBookSchema.nullish(),
});

export type CardSpec = 'chara_card_v2' | 'chara_card_v3';

export interface CharacterCard {
  spec: CardSpec;
  spec_version: string;
  /** The card's data exactly as read (unknown fields and extensions included). */
  data: JsonObject;
  /** Top-level fields besides spec, spec_version and data, kept so that they survive. */
  otherFields: JsonObject;
}

export interface ParsedCharacterCard {
  card: CharacterCard;
  warnings: string[];
  /** What the card came in. */
  source: 'json' | 'png' | 'charx';
  /** The PNG file itself when the card came as one: its art, kept byte for byte. */
  image?: Buffer;
  /** Embedded files (V3 PNG asset chunks, CHARX files). */
  assets: CardAsset[];
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

function decodeBase64Json(textValue: string, chunk: string): unknown {
  const bytes = Buffer.from(textValue.trim(), 'base64');
  if (bytes.length > MAX_CARD_JSON_BYTES) throw new AppError('validation', `The card's ${chunk} chunk holds more than ${MAX_CARD_JSON_BYTES} bytes of JSON.`);
  let json: string;
  try {
    json = fatalUtf8.decode(bytes);
  } catch {
    throw new AppError('validation', `The card's ${chunk} chunk is not base64 of UTF-8 text.`);
  }
  try {
    return JSON.parse(json.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new AppError('validation', `The card's ${chunk} chunk is not valid JSON: ${(error as Error).message}`);
  }
}

function readCardJson(content: Buffer | string, warnings: string[]): unknown {
  if (typeof content !== 'string' && isPng(content)) {
    const texts = readPngTextChunks(content);
    const ccv3 = texts.get('ccv3');
    const chara = texts.get('chara');
    if (ccv3 !== undefined) {
      try {
        return decodeBase64Json(ccv3, 'ccv3');
      } catch (error) {
        if (chara === undefined) throw error;
        warnings.push(`The ccv3 chunk could not be read (${(error as Error).message}); the chara chunk was used instead.`);
      }
    }
    if (chara !== undefined) return decodeBase64Json(chara, 'chara');
    throw new AppError('validation', 'The PNG has no character card in it (no "ccv3" or "chara" tEXt chunk).');
  }
  const json = typeof content === 'string' ? content : content.toString('utf8');
  if (Buffer.byteLength(json, 'utf8') > MAX_CARD_JSON_BYTES) throw new AppError('validation', `The card is larger than ${MAX_CARD_JSON_BYTES} bytes of JSON.`);
  try {
    return JSON.parse(json.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new AppError('validation', `The card is neither a PNG nor valid JSON: ${(error as Error).message}`);
  }
}

/** Reads a V1, V2 or V3 card from JSON text, a PNG or a CHARX zip, and checks the fields we use. */
export function parseCharacterCard(content: Buffer | string): ParsedCharacterCard {
  if (typeof content !== 'string' && isZip(content)) {
    const charx = readCharx(content);
    const parsed = parseCharacterCard(charx.cardJson);
    return { ...parsed, source: 'charx', assets: charx.assets };
  }
  const size = typeof content === 'string' ? Buffer.byteLength(content, 'utf8') : content.length;
  if (size > MAX_CARD_FILE_BYTES) throw new AppError('validation', `The card file is ${size} bytes; the largest accepted is ${MAX_CARD_FILE_BYTES}.`);
  const warnings: string[] = [];
  const raw = readCardJson(content, warnings);
  if (!isPlainObject(raw)) throw importValidationError('character card', [{ path: '(root)', message: 'must be a JSON object' }]);

  let card: CharacterCard;
  if (raw['spec'] === 'chara_card_v2' || raw['spec'] === 'chara_card_v3') {
    const { spec, spec_version: specVersion, data, ...otherFields } = raw;
    if (!isPlainObject(data)) throw importValidationError('character card', [{ path: 'data', message: 'must be a JSON object' }]);
    const version = typeof specVersion === 'number' ? specVersion : Number.parseFloat(String(specVersion));
    const supported = spec === 'chara_card_v3' ? 3 : 2;
    if (!Number.isFinite(version)) warnings.push(`The card's spec_version ${JSON.stringify(specVersion)} is not a number; read as ${supported}.0.`);
    else if (version > supported) {
      warnings.push(`The card's spec_version ${String(specVersion)} is newer than ${supported}.0; fields this version does not know were kept as they are.`);
    }
    card = {
      spec: spec as CardSpec,
      spec_version: typeof specVersion === 'string' || typeof specVersion === 'number' ? String(specVersion) : `${supported}.0`,
      data: data as JsonObject,
      otherFields: otherFields as JsonObject,
    };
  } else if (typeof raw['spec'] === 'string') {
    throw importValidationError('character card', [{ path: 'spec', message: `is "${raw['spec'].slice(0, 40)}"; expected "chara_card_v2" or "chara_card_v3"` }]);
  } else {
    // V1: the fields at the top level.
    card = { spec: 'chara_card_v2', spec_version: '2.0', data: raw as JsonObject, otherFields: {} };
    warnings.push('The card is in the V1 layout; it was read as a V2 card.');
  }

  const problem = jsonValueProblem(raw, MAX_CARD_JSON_BYTES);
  if (problem) throw importValidationError('character card', [{ path: formatJsonPath(problem.path), message: problem.message }]);
  const checked = cardDataSchema.safeParse(card.data);
  if (!checked.success) {
    throw importValidationError(
      'character card',
      issuesFromZod(checked.error).map((issue) => ({ ...issue, path: card.data === raw ? issue.path : `data.${issue.path}` })),
    );
  }
  if (typeof content !== 'string' && isPng(content)) {
    return { card, warnings, source: 'png', image: content, assets: readPngAssets(content, assetsListOf(card.data)) };
  }
  return { card, warnings, source: 'json', assets: [] };
}
