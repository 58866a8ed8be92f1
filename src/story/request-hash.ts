import { createHash } from 'node:crypto';
import type { TurnKind } from './turn-repo.js';

/** Identical requests (same kind, same starting scene, same choice and instruction) share one generation. */
export function turnRequestHash(kind: TurnKind, fromSceneId: string | null, choiceNumber: number | null, instruction: string | null): string {
  return createHash('sha256')
    .update(JSON.stringify([kind, fromSceneId, choiceNumber, instruction]))
    .digest('hex')
    .slice(0, 32);
}

/** A 31-bit seed that is the same for the same inputs, so the offline storyteller is reproducible. */
export function seedFor(...parts: (string | number | null | undefined)[]): number {
  return createHash('sha256').update(JSON.stringify(parts)).digest().readUInt32BE(0) & 0x7fffffff;
}
