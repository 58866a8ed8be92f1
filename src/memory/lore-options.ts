import { z } from 'zod';

/**
 * How a lore entry is activated and placed, with SillyTavern World Info's meanings:
 * - keywords (primary) and secondaryKeywords, combined by selectiveLogic when there are
 *   secondary keywords: and_any (a secondary one appears too), not_all (not every secondary
 *   one appears), not_any (none appears), and_all (every one appears);
 * - constant: in every prompt; probability: percent chance per turn, seeded by the turn;
 * - insertionOrder: higher is placed later, nearer the end, and kept first under the budget;
 * - position: before or after the character definitions, or at `depth` scenes from the end;
 * - caseSensitive, matchWholeWords; a keyword written `/pattern/flags` is a regular expression;
 * - scanDepth: how many recent scenes are searched for keywords (null: the story's setting).
 */
export const selectiveLogics = ['and_any', 'not_all', 'not_any', 'and_all'] as const;
export type SelectiveLogic = (typeof selectiveLogics)[number];
export const lorePositions = ['before_characters', 'after_characters', 'at_depth'] as const;
export type LorePosition = (typeof lorePositions)[number];

export interface LoreOptions {
  secondaryKeywords: string[];
  selectiveLogic: SelectiveLogic;
  constant: boolean;
  insertionOrder: number;
  position: LorePosition;
  depth: number;
  probability: number;
  caseSensitive: boolean;
  matchWholeWords: boolean;
  scanDepth: number | null;
}

export const defaultLoreOptions: Readonly<LoreOptions> = Object.freeze({
  secondaryKeywords: [],
  selectiveLogic: 'and_any',
  constant: false,
  insertionOrder: 100,
  position: 'before_characters',
  depth: 4,
  probability: 100,
  caseSensitive: false,
  matchWholeWords: true,
  scanDepth: null,
});

export const maxLoreKeywords = 100;
export const maxLoreKeywordChars = 400;

const keywordList = (field: string) =>
  z
    .array(z.string({ error: `${field} must be text` }).max(maxLoreKeywordChars, `a keyword in ${field} is longer than ${maxLoreKeywordChars} characters`), {
      error: `${field} must be a list of text`,
    })
    .max(maxLoreKeywords, `${field} has more than ${maxLoreKeywords} keywords`);

/** The options as an API or CLI caller gives them; every field optional. */
export const loreOptionsInput = z.object({
  secondaryKeywords: keywordList('secondaryKeywords').optional(),
  selectiveLogic: z.enum(selectiveLogics, { error: `selectiveLogic must be one of ${selectiveLogics.join(', ')}` }).optional(),
  constant: z.boolean({ error: 'constant must be true or false' }).optional(),
  insertionOrder: z.number({ error: 'insertionOrder must be a number' }).int('insertionOrder must be a whole number').min(-1_000_000).max(1_000_000).optional(),
  position: z.enum(lorePositions, { error: `position must be one of ${lorePositions.join(', ')}` }).optional(),
  depth: z.number({ error: 'depth must be a number' }).int('depth must be a whole number').min(0, 'depth must be 0 or more').max(1000, 'depth must be at most 1000').optional(),
  probability: z.number({ error: 'probability must be a number' }).int('probability must be a whole number').min(0, 'probability must be 0 to 100').max(100, 'probability must be 0 to 100').optional(),
  caseSensitive: z.boolean({ error: 'caseSensitive must be true or false' }).optional(),
  matchWholeWords: z.boolean({ error: 'matchWholeWords must be true or false' }).optional(),
  scanDepth: z.number({ error: 'scanDepth must be a number or null' }).int('scanDepth must be a whole number').min(0, 'scanDepth must be 0 or more').max(1000, 'scanDepth must be at most 1000').nullable().optional(),
});
export type LoreOptionsInput = z.infer<typeof loreOptionsInput>;

/** Keywords as stored: trimmed, no empty ones (an empty key never matches), no repeats. */
export function cleanKeywords(keywords: readonly unknown[] | undefined): string[] {
  const clean = (keywords ?? []).map((k) => (typeof k === 'string' ? k.trim() : '')).filter((k) => k.length > 0 && k.length <= maxLoreKeywordChars);
  return [...new Set(clean)].slice(0, maxLoreKeywords);
}
