import { defaultLoreScanDepth, defaultLoreTokenBudget } from '../memory/select-lore.js';
import { z } from 'zod';
import type { StoryRow } from './story-repo.js';

/** A story's book-wide lore settings, kept in stories.settings.lore (an imported book sets them). */
export interface StoryLoreSettings {
  scanDepth: number;
  tokenBudget: number;
  /** Activated entries' content is scanned for further keywords (a card book's recursive_scanning). */
  recursive: boolean;
  /** Scan passes at most; 0: until nothing new activates. */
  maxRecursionSteps: number;
  /** Group scoring for entries that do not set it themselves. */
  useGroupScoring: boolean;
}

export const maxLoreTokenBudget = 20_000;

const wholeNumberIn = (value: unknown, min: number, max: number): number | undefined =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? value : undefined;

export function storyLoreSettings(story: Pick<StoryRow, 'settings'>): StoryLoreSettings {
  const lore = story.settings['lore'];
  const stored = lore !== null && typeof lore === 'object' && !Array.isArray(lore) ? (lore as Record<string, unknown>) : {};
  return {
    scanDepth: wholeNumberIn(stored['scan_depth'], 0, 1000) ?? defaultLoreScanDepth,
    tokenBudget: wholeNumberIn(stored['token_budget'], 1, maxLoreTokenBudget) ?? defaultLoreTokenBudget,
    recursive: stored['recursive_scanning'] !== false,
    maxRecursionSteps: wholeNumberIn(stored['max_recursion_steps'], 0, 100) ?? 0,
    useGroupScoring: stored['use_group_scoring'] === true,
  };
}

/** The settings as a caller changes them (PATCH /api/stories/:id {lore}); every field optional. */
export const loreSettingsInput = z.strictObject({
  scanDepth: z.number({ error: 'lore.scanDepth must be a number' }).int('lore.scanDepth must be a whole number').min(0, 'lore.scanDepth must be 0 to 1000').max(1000, 'lore.scanDepth must be 0 to 1000').optional(),
  tokenBudget: z
    .number({ error: 'lore.tokenBudget must be a number' })
    .int('lore.tokenBudget must be a whole number')
    .min(1, `lore.tokenBudget must be 1 to ${maxLoreTokenBudget}`)
    .max(maxLoreTokenBudget, `lore.tokenBudget must be 1 to ${maxLoreTokenBudget}`)
    .optional(),
  recursive: z.boolean({ error: 'lore.recursive must be true or false' }).optional(),
  maxRecursionSteps: z.number({ error: 'lore.maxRecursionSteps must be a number' }).int('lore.maxRecursionSteps must be a whole number').min(0, 'lore.maxRecursionSteps must be 0 to 100').max(100, 'lore.maxRecursionSteps must be 0 to 100').optional(),
  useGroupScoring: z.boolean({ error: 'lore.useGroupScoring must be true or false' }).optional(),
});
export type LoreSettingsInput = z.infer<typeof loreSettingsInput>;

/** The same settings under the names stories.settings.lore keeps them by (a card book's names). */
export function storedLoreSettings(input: LoreSettingsInput): Record<string, number | boolean> {
  const names: Record<keyof LoreSettingsInput, string> = {
    scanDepth: 'scan_depth',
    tokenBudget: 'token_budget',
    recursive: 'recursive_scanning',
    maxRecursionSteps: 'max_recursion_steps',
    useGroupScoring: 'use_group_scoring',
  };
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined).map(([key, value]) => [names[key as keyof LoreSettingsInput], value as number | boolean]));
}
