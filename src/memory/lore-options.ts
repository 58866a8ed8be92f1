import { z } from 'zod';

/**
 * How a lore entry is activated and placed, with SillyTavern World Info's meanings:
 * - keywords (primary) and secondaryKeywords, combined by selectiveLogic when there are
 *   secondary keywords: and_any (a secondary one appears too), not_all (not every secondary
 *   one appears), not_any (none appears), and_all (every one appears);
 * - constant: in every prompt; probability: percent chance per turn, seeded by the turn;
 * - insertionOrder: higher is placed later, nearer the end, and kept first under the budget;
 * - position (where the prompt holds the entry; see `lorePositions`), with depth and
 *   depthRole for `at_depth`;
 * - caseSensitive, matchWholeWords; a keyword written `/pattern/flags` is a regular expression;
 * - scanDepth: how many recent scenes are searched for keywords (null: the story's setting);
 * - inclusionGroup (comma-separated names): of a group's entries activated together only one
 *   is kept — the highest insertion order among those with groupOverride, else one drawn by
 *   groupWeight; with group scoring (useGroupScoring, null: the story's setting) only those
 *   matching the most keywords take part; a group already placed by an earlier recursion pass
 *   admits no more;
 * - sticky / cooldown / delay, counted in scenes along the path to the head: an entry stays in
 *   the next `sticky` scenes' prompts after it is activated (whatever its keys or
 *   probability), then cannot be activated for `cooldown` scenes; `delay` keeps it out until
 *   the path holds that many scenes;
 * - recursion: activated entries' content is scanned for further keywords; excludeRecursion
 *   (never activated that way), preventRecursion (its content activates nothing),
 *   delayUntilRecursion (N > 0: activated only by recursion, from level N on);
 * - ignoreBudget: placed even when the lore token budget is spent.
 */
export const selectiveLogics = ['and_any', 'not_all', 'not_any', 'and_all'] as const;
export type SelectiveLogic = (typeof selectiveLogics)[number];

/**
 * Where an activated entry goes in the scene prompt (SillyTavern position codes in brackets):
 * - before_characters (0): the "Lore" section just before "Characters in the story";
 * - after_characters (1): the "More lore" section right after the characters;
 * - author_note_top (2) / author_note_bottom (3): the story's standing instructions play the
 *   author's note: these open and close the "Author's instructions" section;
 * - at_depth (4): among the recent scenes, `depth` scenes from the end (0: after the newest),
 *   headed by its role (system, user, assistant);
 * - examples_top (5) / examples_bottom (6): example blocks before / after a card's example
 *   dialogue, in the "examples of voice" section.
 */
export const lorePositions = ['before_characters', 'after_characters', 'author_note_top', 'author_note_bottom', 'at_depth', 'examples_top', 'examples_bottom'] as const;
export type LorePosition = (typeof lorePositions)[number];
export const loreRoles = ['system', 'user', 'assistant'] as const;
export type LoreRole = (typeof loreRoles)[number];

export interface LoreOptions {
  secondaryKeywords: string[];
  selectiveLogic: SelectiveLogic;
  constant: boolean;
  insertionOrder: number;
  position: LorePosition;
  depth: number;
  depthRole: LoreRole;
  probability: number;
  caseSensitive: boolean;
  matchWholeWords: boolean;
  scanDepth: number | null;
  inclusionGroup: string;
  groupOverride: boolean;
  groupWeight: number;
  useGroupScoring: boolean | null;
  sticky: number;
  cooldown: number;
  delay: number;
  excludeRecursion: boolean;
  preventRecursion: boolean;
  delayUntilRecursion: number;
  ignoreBudget: boolean;
}

export const defaultLoreOptions: Readonly<LoreOptions> = Object.freeze({
  secondaryKeywords: [],
  selectiveLogic: 'and_any',
  constant: false,
  insertionOrder: 100,
  position: 'before_characters',
  depth: 4,
  depthRole: 'system',
  probability: 100,
  caseSensitive: false,
  matchWholeWords: true,
  scanDepth: null,
  inclusionGroup: '',
  groupOverride: false,
  groupWeight: 100,
  useGroupScoring: null,
  sticky: 0,
  cooldown: 0,
  delay: 0,
  excludeRecursion: false,
  preventRecursion: false,
  delayUntilRecursion: 0,
  ignoreBudget: false,
});

export const maxLoreKeywords = 100;
export const maxLoreKeywordChars = 400;
export const maxInclusionGroupChars = 500;

const keywordList = (field: string) =>
  z
    .array(z.string({ error: `${field} must be text` }).max(maxLoreKeywordChars, `a keyword in ${field} is longer than ${maxLoreKeywordChars} characters`), {
      error: `${field} must be a list of text`,
    })
    .max(maxLoreKeywords, `${field} has more than ${maxLoreKeywords} keywords`);

const wholeNumber = (field: string, min: number, max: number) =>
  z
    .number({ error: `${field} must be a number` })
    .int(`${field} must be a whole number`)
    .min(min, `${field} must be ${min} to ${max}`)
    .max(max, `${field} must be ${min} to ${max}`);
const flag = (field: string) => z.boolean({ error: `${field} must be true or false` });

/** The options as an API or CLI caller gives them; every field optional. */
export const loreOptionsInput = z.object({
  secondaryKeywords: keywordList('secondaryKeywords').optional(),
  selectiveLogic: z.enum(selectiveLogics, { error: `selectiveLogic must be one of ${selectiveLogics.join(', ')}` }).optional(),
  constant: flag('constant').optional(),
  insertionOrder: z.number({ error: 'insertionOrder must be a number' }).int('insertionOrder must be a whole number').min(-1_000_000).max(1_000_000).optional(),
  position: z.enum(lorePositions, { error: `position must be one of ${lorePositions.join(', ')}` }).optional(),
  depth: z.number({ error: 'depth must be a number' }).int('depth must be a whole number').min(0, 'depth must be 0 or more').max(1000, 'depth must be at most 1000').optional(),
  depthRole: z.enum(loreRoles, { error: `depthRole must be one of ${loreRoles.join(', ')}` }).optional(),
  probability: z.number({ error: 'probability must be a number' }).int('probability must be a whole number').min(0, 'probability must be 0 to 100').max(100, 'probability must be 0 to 100').optional(),
  caseSensitive: flag('caseSensitive').optional(),
  matchWholeWords: flag('matchWholeWords').optional(),
  scanDepth: z.number({ error: 'scanDepth must be a number or null' }).int('scanDepth must be a whole number').min(0, 'scanDepth must be 0 or more').max(1000, 'scanDepth must be at most 1000').nullable().optional(),
  inclusionGroup: z.string({ error: 'inclusionGroup must be text' }).max(maxInclusionGroupChars, `inclusionGroup must have at most ${maxInclusionGroupChars} characters`).optional(),
  groupOverride: flag('groupOverride').optional(),
  groupWeight: wholeNumber('groupWeight', 0, 1_000_000).optional(),
  useGroupScoring: flag('useGroupScoring').nullable().optional(),
  sticky: wholeNumber('sticky', 0, 1000).optional(),
  cooldown: wholeNumber('cooldown', 0, 1000).optional(),
  delay: wholeNumber('delay', 0, 1000).optional(),
  excludeRecursion: flag('excludeRecursion').optional(),
  preventRecursion: flag('preventRecursion').optional(),
  delayUntilRecursion: wholeNumber('delayUntilRecursion', 0, 1000).optional(),
  ignoreBudget: flag('ignoreBudget').optional(),
});
export type LoreOptionsInput = z.infer<typeof loreOptionsInput>;

/** Keywords as stored: trimmed, no empty ones (an empty key never matches), no repeats. */
export function cleanKeywords(keywords: readonly unknown[] | undefined): string[] {
  const clean = (keywords ?? []).map((k) => (typeof k === 'string' ? k.trim() : '')).filter((k) => k.length > 0 && k.length <= maxLoreKeywordChars);
  return [...new Set(clean)].slice(0, maxLoreKeywords);
}

/** The group names of an entry's inclusionGroup ("a, b" → ["a", "b"]). */
export function inclusionGroupsOf(inclusionGroup: string): string[] {
  return inclusionGroup
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
}
