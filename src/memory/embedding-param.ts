import { AppError } from '../errors.js';

/** PostgreSQL's type id of real (float4): the element type in a real[]'s binary form. */
const float4TypeId = 700;

/** Throws unless every value is a finite number (NaN or ∞ would poison every similarity). */
function assertFiniteEmbedding(vec: readonly number[]): void {
  if (vec.some((value) => !Number.isFinite(value))) throw new AppError('internal', 'An embedding contains a non-finite number.');
}

/**
 * An embedding as a statement parameter, for `$n::real[]`: the binary form of a real[] (the
 * one array_recv reads), which the drivers send as a binary parameter. As text, each of its
 * hundreds of numbers was parsed by strtof in the database; on the embedded database that
 * was some 2.5 µs a number, 3 ms for the eight memories of a turn, against 0.3 ms in binary.
 * The values are stored as real either way, so rounding them to float4 here loses nothing.
 */
export function embeddingParam(vec: readonly number[]): Buffer {
  assertFiniteEmbedding(vec);
  const header = 20;
  const out = Buffer.allocUnsafe(header + vec.length * 8);
  out.writeInt32BE(1, 0); // dimensions
  out.writeInt32BE(0, 4); // no nulls
  out.writeInt32BE(float4TypeId, 8);
  out.writeInt32BE(vec.length, 12);
  out.writeInt32BE(1, 16); // lower bound
  let offset = header;
  for (const value of vec) {
    out.writeInt32BE(4, offset);
    out.writeFloatBE(value, offset + 4);
    offset += 8;
  }
  return out;
}

/** embeddingParam, or NULL for a row whose embedding is not there (yet). */
export function optionalEmbeddingParam(vec: readonly number[] | null | undefined): Buffer | null {
  return vec ? embeddingParam(vec) : null;
}
