import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import extractChunks from 'png-chunks-extract';
import encodeChunks from 'png-chunks-encode';
import * as pngText from 'png-chunk-text';
import { AppError } from '../errors.js';

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function isPng(data: Uint8Array): boolean {
  return data.length >= 8 && Buffer.from(data.subarray(0, 8)).equals(PNG_SIGNATURE);
}

/**
 * Walks the chunk lengths before the extractor does: it allocates whatever length a chunk
 * claims, so a forged 4 GB length must be refused here first.
 */
function checkChunkBounds(data: Uint8Array): void {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let offset = 8;
  while (offset + 12 <= data.length) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...data.subarray(offset + 4, offset + 8));
    if (offset + 12 + length > data.length) throw new AppError('validation', `The PNG is truncated or corrupt: chunk ${JSON.stringify(type)} runs past the end of the file.`);
    offset += 12 + length;
    if (type === 'IEND') return;
  }
  throw new AppError('validation', 'The PNG is truncated: it has no IEND chunk.');
}

/** The `tEXt` chunks of a PNG, keyword → text (Latin-1, as the PNG specification says). */
export function readPngTextChunks(data: Uint8Array): Map<string, string> {
  if (!isPng(data)) throw new AppError('validation', 'The file is not a PNG image.');
  checkChunkBounds(data);
  let chunks: { name: string; data: Uint8Array }[];
  try {
    chunks = extractChunks(data);
  } catch (error) {
    throw new AppError('validation', `The PNG is corrupt: ${(error as Error).message}.`, { cause: error });
  }
  const texts = new Map<string, string>();
  for (const chunk of chunks) {
    if (chunk.name !== 'tEXt') continue;
    try {
      const { keyword, text } = pngText.decode(chunk.data);
      if (!texts.has(keyword)) texts.set(keyword, text);
    } catch {
      // A malformed text chunk that is not ours to read does not spoil the card.
    }
  }
  return texts;
}

/** A solid-colour RGB image, the colour derived from `seed` so a character keeps its colour. */
function solidImageChunks(seed: string, sizePx: number): { name: string; data: Uint8Array }[] {
  const [red, green, blue] = createHash('sha256').update(seed).digest();
  const header = Buffer.alloc(13);
  header.writeUInt32BE(sizePx, 0);
  header.writeUInt32BE(sizePx, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: truecolour
  header[10] = 0; // deflate
  header[11] = 0; // adaptive filtering
  header[12] = 0; // no interlace
  const row = Buffer.alloc(1 + sizePx * 3); // filter byte 0 (none), then RGB triples
  for (let x = 0; x < sizePx; x++) row.set([red!, green!, blue!], 1 + x * 3);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: sizePx }, () => row)));
  return [
    { name: 'IHDR', data: header },
    { name: 'IDAT', data: pixels },
  ];
}

/** A small valid PNG carrying the given tEXt chunks (keyword → Latin-1 text, e.g. base64). */
export function writePngWithText(texts: readonly [keyword: string, text: string][], colourSeed: string, sizePx = 64): Buffer {
  const [header, pixels] = solidImageChunks(colourSeed, sizePx);
  const textChunks = texts.map(([keyword, text]) => pngText.encode(keyword, text));
  return Buffer.from(encodeChunks([header!, ...textChunks, pixels!, { name: 'IEND', data: new Uint8Array(0) }]));
}
