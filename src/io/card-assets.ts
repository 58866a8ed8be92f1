import extractChunks from 'png-chunks-extract';
import encodeChunks from 'png-chunks-encode';
import * as pngText from 'png-chunk-text';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { AppError } from '../errors.js';
import { isPng, readPngTextChunks } from './card-png.js';
import { isPlainObject, type JsonObject } from './validation.js';

/**
 * A card's files besides its JSON, kept byte for byte (Character Card V3): assets embedded
 * in a PNG as `chara-ext-asset_:PATH` tEXt chunks (referenced as `__asset:PATH`), and the
 * files of a CHARX zip (referenced as `embeded://PATH`, the spec's spelling).
 */
export interface CardAsset {
  /** How the card referred to it: "__asset:1", "embeded://assets/icon/images/main.png". */
  uri: string;
  /** From the card's assets list when it names this file, else from the path. */
  type: string;
  name: string;
  ext: string;
  data: Buffer;
}

export const pngAssetPrefix = 'chara-ext-asset_:';
export const pngAssetUri = '__asset:';
export const charxUri = 'embeded://';
/** Largest CHARX accepted, and the most its files may unpack to. */
export const MAX_CHARX_BYTES = 50 * 1024 * 1024;
export const MAX_CHARX_UNPACKED_BYTES = 200 * 1024 * 1024;

const zipSignature = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
export function isZip(data: Uint8Array): boolean {
  return data.length >= 4 && Buffer.from(data.subarray(0, 4)).equals(zipSignature);
}

const mediaTypes: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  wav: 'audio/wav',
  mp4: 'video/mp4',
  webm: 'video/webm',
  json: 'application/json',
};
export function mediaTypeOf(ext: string): string {
  return mediaTypes[ext.toLowerCase()] ?? 'application/octet-stream';
}

function describedBy(assetsList: JsonObject[], uri: string, fallbackPath: string): Pick<CardAsset, 'type' | 'name' | 'ext'> {
  const listed = assetsList.find((asset) => asset['uri'] === uri);
  const file = fallbackPath.split('/').pop() ?? fallbackPath;
  const dot = file.lastIndexOf('.');
  return {
    type: typeof listed?.['type'] === 'string' ? listed['type'] : 'other',
    name: typeof listed?.['name'] === 'string' ? listed['name'] : dot > 0 ? file.slice(0, dot) : file,
    ext: typeof listed?.['ext'] === 'string' ? listed['ext'] : dot > 0 ? file.slice(dot + 1) : '',
  };
}

/** The `data.assets` list of a card, its sound entries only. */
export function assetsListOf(data: JsonObject): JsonObject[] {
  return Array.isArray(data['assets']) ? data['assets'].filter((a): a is JsonObject => isPlainObject(a)) : [];
}

/** The assets a PNG card embeds, each from its own tEXt chunk (base64). */
export function readPngAssets(png: Buffer, assetsList: JsonObject[]): CardAsset[] {
  const assets: CardAsset[] = [];
  for (const [keyword, text] of readPngTextChunks(png)) {
    if (!keyword.startsWith(pngAssetPrefix)) continue;
    const path = keyword.slice(pngAssetPrefix.length);
    const uri = `${pngAssetUri}${path}`;
    assets.push({ uri, ...describedBy(assetsList, uri, path), data: Buffer.from(text, 'base64') });
  }
  return assets;
}

/** A CHARX zip: its card.json text and every other file as an asset. */
export function readCharx(zip: Buffer): { cardJson: string; assets: (CardAsset & { path: string })[] } {
  if (zip.length > MAX_CHARX_BYTES) throw new AppError('validation', `The CHARX file is ${zip.length} bytes; the largest accepted is ${MAX_CHARX_BYTES}.`);
  let unpackedBytes = 0;
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(new Uint8Array(zip.buffer, zip.byteOffset, zip.byteLength), {
      filter: (file) => {
        unpackedBytes += file.originalSize;
        if (unpackedBytes > MAX_CHARX_UNPACKED_BYTES) throw new AppError('validation', `The CHARX file unpacks to more than ${MAX_CHARX_UNPACKED_BYTES} bytes.`);
        return !file.name.endsWith('/');
      },
    });
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError('validation', `The CHARX file is not a readable zip: ${(error as Error).message}.`, { cause: error });
  }
  const card = files['card.json'];
  if (!card) throw new AppError('validation', `The zip has no card.json at its root, so it is not a CHARX card (it holds ${Object.keys(files).slice(0, 5).join(', ') || 'nothing'}).`);
  const cardJson = Buffer.from(card).toString('utf8');
  let assetsList: JsonObject[] = [];
  try {
    const parsed: unknown = JSON.parse(cardJson.replace(/^\uFEFF/, ''));
    if (isPlainObject(parsed) && isPlainObject(parsed['data'])) assetsList = assetsListOf(parsed['data'] as JsonObject);
  } catch {
    // The card parser reports a broken card.json with its own message.
  }
  const assets = Object.entries(files)
    .filter(([path]) => path !== 'card.json')
    .map(([path, data]) => {
      const uri = `${charxUri}${path}`;
      return { path, uri, ...describedBy(assetsList, uri, path), data: Buffer.from(data) };
    });
  return { cardJson, assets };
}

/** A CHARX zip from a V3 card document and its files (path → bytes). */
export function writeCharx(card: JsonObject, files: readonly { path: string; data: Buffer }[]): Buffer {
  const entries: Record<string, Uint8Array> = { 'card.json': strToU8(JSON.stringify(card)) };
  for (const file of files) entries[file.path] = new Uint8Array(file.data);
  return Buffer.from(zipSync(entries, { level: 6 }));
}

/** tEXt keywords a card writer owns: replaced on export, never duplicated. */
function isCardChunk(name: string, data: Uint8Array): boolean {
  if (name !== 'tEXt') return false;
  const end = data.indexOf(0);
  const keyword = Buffer.from(data.subarray(0, end < 0 ? Math.min(data.length, 80) : end)).toString('latin1');
  return keyword === 'chara' || keyword === 'ccv3' || keyword.startsWith(pngAssetPrefix);
}

/**
 * The card's own PNG with new card text chunks: every other chunk (IHDR, the image data,
 * colour profiles…) is kept exactly; old chara/ccv3/asset chunks are dropped and the new
 * ones go just before IEND, where SillyTavern writes them.
 */
export function rewritePngText(png: Buffer, texts: readonly [keyword: string, text: string][]): Buffer {
  if (!isPng(png)) throw new AppError('internal', 'The stored card image is not a PNG.');
  const kept = extractChunks(png).filter((chunk) => !isCardChunk(chunk.name, chunk.data));
  const end = kept.findIndex((chunk) => chunk.name === 'IEND');
  const textChunks = texts.map(([keyword, text]) => pngText.encode(keyword, text));
  kept.splice(end < 0 ? kept.length : end, 0, ...textChunks);
  if (end < 0) kept.push({ name: 'IEND', data: new Uint8Array(0) });
  return Buffer.from(encodeChunks(kept));
}
