import { defaultLoreScanDepth, defaultLoreTokenBudget } from '../memory/select-lore.js';
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
