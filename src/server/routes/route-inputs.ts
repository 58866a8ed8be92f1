import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../errors.js';

/** `:id` params: any text (a malformed id is simply not found); length-capped so it never reaches logs huge. */
export const idParams = z.object({ id: z.string().max(100, 'the id is too long') });

/** `?thoughts=1` shows characters' private thoughts. */
export const thoughtsQuery = z.object({
  thoughts: z.enum(['0', '1', 'true', 'false'], { error: 'thoughts must be 1 or 0' }).optional(),
});

/** World reads: `?at=SCENE_ID` shows the world as of that scene (default: the head), `?thoughts=1` as above. */
export const worldQuery = thoughtsQuery.extend({
  at: z.string({ error: 'at must be a scene id' }).max(100, 'at is too long').optional(),
});

/** `?pace=N`: a streamed scene's prose reaches the reader at no more than N words a second (0: as written). */
export const paceQuery = z.object({
  pace: z.coerce
    .number({ error: 'pace must be a number of words a second' })
    .min(0, 'pace must be 0 (as written) or more')
    .max(100, 'pace is at most 100 words a second')
    .optional(),
});

export function wantsThoughts(query: z.output<typeof thoughtsQuery>): boolean {
  return query.thoughts === '1' || query.thoughts === 'true';
}

/** One value of a header that may only appear once. */
export function singleHeader(value: string | string[] | undefined): string | string[] | undefined {
  return Array.isArray(value) && value.length === 1 ? value[0] : value;
}

/** The Idempotency-Key header, passed to the engine as is (it checks the format and names the field). */
export function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const value = singleHeader(request.headers['idempotency-key']);
  if (Array.isArray(value)) throw new AppError('validation', 'Send one Idempotency-Key header.', { details: { field: 'idempotencyKey' } });
  return value;
}

/** If-Match carries the version being edited (a character's, a lore entry's): `3`, `"3"` or `W/"3"`. */
export function parseIfMatch(value: string | string[] | undefined): number {
  const header = singleHeader(value);
  const match = typeof header === 'string' ? /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(header) : null;
  if (!match) {
    throw new AppError('validation', 'Send If-Match with the version you edited (from its ETag or version field).', {
      details: { field: 'If-Match' },
    });
  }
  return Number(match[1]);
}
