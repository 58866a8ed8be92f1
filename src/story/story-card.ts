import type { Queryable } from '../db/index.js';
import type { SceneOutput } from './scene-output.js';
import { replaceMacros, type MacroNames } from './macros.js';
import type { StoryRow } from './story-repo.js';

/**
 * What a story opened from a character card takes from it, read from the card kept on the
 * character (metadata.character_card) — the one copy, so an edited card is what counts.
 */
export interface StoryCard {
  characterId: string;
  characterName: string;
  /** first_mes, then each alternate greeting: the openings, in order. Empty ones are skipped. */
  greetings: string[];
  systemPrompt: string;
  postHistoryInstructions: string;
  /** mes_example: how the character speaks. */
  exampleMessages: string;
}

/** The key under stories.settings naming the card character (its card's link_id). */
export const storyCardSetting = 'card_link_id';

const textOf = (value: unknown) => (typeof value === 'string' ? value : '');

export async function loadStoryCard(db: Queryable, story: Pick<StoryRow, 'id' | 'settings'>): Promise<StoryCard | undefined> {
  const linkId = story.settings[storyCardSetting];
  if (typeof linkId !== 'string') return undefined;
  const { rows } = await db.query<{ id: string; name: string; data: Record<string, unknown> | null }>(
    `SELECT id, name, metadata -> 'character_card' -> 'data' AS data FROM characters
     WHERE story_id = $1 AND metadata -> 'character_card' ->> 'link_id' = $2 LIMIT 1`,
    [story.id, linkId],
  );
  const row = rows[0];
  if (!row || !row.data) return undefined;
  const alternates = Array.isArray(row.data['alternate_greetings']) ? row.data['alternate_greetings'] : [];
  return {
    characterId: row.id,
    characterName: row.name,
    greetings: [row.data['first_mes'], ...alternates].map(textOf).filter((greeting) => greeting.trim() !== ''),
    systemPrompt: textOf(row.data['system_prompt']),
    postHistoryInstructions: textOf(row.data['post_history_instructions']),
    exampleMessages: textOf(row.data['mes_example']),
  };
}

const openingChoiceTemplates = [
  (name: string) => `Answer ${name}`,
  (name: string) => `Ask ${name} about themselves`,
  () => 'Look around you',
  (name: string) => `Stay quiet and watch ${name}`,
  () => 'Go your own way',
  (name: string) => `Ask ${name} what happens next`,
  () => 'Take stock of what you carry',
  () => 'Call out to anyone nearby',
  () => 'Wait and listen',
];

/**
 * An opening scene that is the card's greeting exactly (macros replaced), written without a
 * model call: greeting `index` (0 is first_mes; regenerations step through the alternates).
 */
export function cardOpeningScene(card: StoryCard, index: number, names: MacroNames, choiceCount: number): SceneOutput {
  const greeting = card.greetings[index % card.greetings.length]!;
  return {
    scene: replaceMacros(greeting, names),
    choices: openingChoiceTemplates.slice(0, choiceCount).map((template) => template(names.char)),
    characters: [{ name: card.characterName, role: 'present', importance: 1 }],
  };
}
