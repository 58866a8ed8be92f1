import { deflateSync, inflateSync } from 'node:zlib';

/** A PNG reader and writer for tests, independent of the packages the code under test uses. */

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = crcTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export interface PngChunk {
  type: string;
  data: Buffer;
}

const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Walks every chunk, checking lengths and CRCs; throws on anything malformed. */
export function readChunks(png: Buffer): PngChunk[] {
  if (!png.subarray(0, 8).equals(signature)) throw new Error('bad signature');
  const chunks: PngChunk[] = [];
  let offset = 8;
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const typeAndData = png.subarray(offset + 4, offset + 8 + length);
    const expected = png.readUInt32BE(offset + 8 + length);
    if (crc32(typeAndData) !== expected) throw new Error(`bad CRC in chunk at ${offset}`);
    chunks.push({ type: typeAndData.subarray(0, 4).toString('latin1'), data: Buffer.from(typeAndData.subarray(4)) });
    offset += 12 + length;
  }
  if (chunks[0]?.type !== 'IHDR' || chunks.at(-1)?.type !== 'IEND') throw new Error('IHDR must come first and IEND last');
  return chunks;
}

export function decodeText(chunk: PngChunk): { keyword: string; text: string } {
  const zero = chunk.data.indexOf(0);
  return { keyword: chunk.data.subarray(0, zero).toString('latin1'), text: chunk.data.subarray(zero + 1).toString('latin1') };
}

/** Decodes the pixels of an 8-bit RGB, non-interlaced image whose rows use filter 0. */
export function imageOf(chunks: PngChunk[]): { width: number; height: number; firstPixel: number[]; rowsAreUnfiltered: boolean } {
  const header = chunks.find((c) => c.type === 'IHDR')!.data;
  const width = header.readUInt32BE(0);
  const height = header.readUInt32BE(4);
  const pixels = inflateSync(Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.data)));
  const stride = 1 + width * 3;
  let rowsAreUnfiltered = pixels.length === stride * height;
  for (let y = 0; y < height && rowsAreUnfiltered; y++) rowsAreUnfiltered = pixels[y * stride] === 0;
  return { width, height, firstPixel: [pixels[1]!, pixels[2]!, pixels[3]!], rowsAreUnfiltered };
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

/** A 2×2 grey PNG with the given tEXt chunks. */
export function writeTestPng(texts: [string, string][]): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(2, 0);
  header.writeUInt32BE(2, 4);
  header[8] = 8;
  header[9] = 2;
  const rows = Buffer.from([0, 128, 128, 128, 128, 128, 128, 0, 128, 128, 128, 128, 128, 128]);
  return Buffer.concat([
    signature,
    chunk('IHDR', header),
    ...texts.map(([keyword, text]) => chunk('tEXt', Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0]), Buffer.from(text, 'latin1')]))),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * A card's "art": a width×height RGB gradient with filtered rows and a colour chunk besides
 * the image data, so that a writer which re-encodes the image (or drops chunks) is caught.
 */
export function writeArtPng(texts: [string, string][], size = 24): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8;
  header[9] = 2;
  const rows: number[] = [];
  for (let y = 0; y < size; y++) {
    rows.push(y % 5); // every filter type, so the bytes are not a canonical re-encoding
    for (let x = 0; x < size; x++) rows.push((x * 11) & 0xff, (y * 7) & 0xff, ((x + y) * 5) & 0xff);
  }
  return Buffer.concat([
    signature,
    chunk('IHDR', header),
    chunk('gAMA', Buffer.from([0, 0, 0xb1, 0x8f])),
    ...texts.map(([keyword, text]) => chunk('tEXt', Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0]), Buffer.from(text, 'latin1')]))),
    chunk('IDAT', deflateSync(Buffer.from(rows), { level: 1 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
