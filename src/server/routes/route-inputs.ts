import { z } from 'zod';

/** `:id` params: any text (a malformed id is simply not found); length-capped so it never reaches logs huge. */
export const idParams = z.object({ id: z.string().max(100, 'the id is too long') });

/** `?thoughts=1` shows characters' private thoughts. */
export const thoughtsQuery = z.object({
  thoughts: z.enum(['0', '1', 'true', 'false'], { error: 'thoughts must be 1 or 0' }).optional(),
});

export function wantsThoughts(query: z.output<typeof thoughtsQuery>): boolean {
  return query.thoughts === '1' || query.thoughts === 'true';
}

/** One value of a header that may only appear once. */
export function singleHeader(value: string | string[] | undefined): string | string[] | undefined {
  return Array.isArray(value) && value.length === 1 ? value[0] : value;
}
