import { newStoryTransaction, withTransaction } from '../db/index.js';
import { AppError } from '../errors.js';
import { ensureEmbeddingSettings } from '../memory/embedding-settings.js';
import { queueEmbeddingBackfill } from '../memory/embedding-backfill.js';
import type { EngineDeps } from '../story/engine-deps.js';
import { storyCardSetting } from '../story/story-card.js';
import { getStory, insertStory, type StoryRow } from '../story/story-repo.js';
import { openingTurnKey } from '../story/create-story.js';
import { recordIdempotentAnswer, runIdempotent, type IdempotencyClaim } from '../idempotency/index.js';
import { takeTurn, type TurnResult } from '../story/take-turn.js';
import { parseCharacterCard } from './character-card.js';
import { bookLimits, embedPlannedLore } from './import-lorebook.js';
import { planCardCharacter, writeCardCharacter } from './import-character-card.js';
import { fitToColumn } from './lore-codecs.js';
import { isPlainObject, type JsonObject } from './validation.js';
import { checkPlayerName } from './check-player-name.js';

export interface CreateStoryFromCardResult {
  story: StoryRow;
  opening: TurnResult;
  characterId: string;
  loreEntryIds: string[];
  /** What was not kept, or is kept but does not act (assets, lore options). */
  warnings: string[];
}

const maxSettingChars = 4000;
const maxTitleChars = 200;

const textOf = (data: JsonObject, key: string) => (typeof data[key] === 'string' ? (data[key] as string).trim() : '');

/**
 * A new story opened by a character card (V1/V2/V3 JSON, PNG or CHARX): the scenario is the
 * setting, the character is created from the card (its art and assets kept), the card's book
 * becomes the story's lore (embedded first), and the opening scene is the card's first_mes
 * exactly — no model call. The alternate greetings are the openings a regeneration steps to.
 */
export async function createStoryFromCard(
  deps: EngineDeps & { defaultSeed: number },
  content: Buffer | string,
  options: { playerName?: string; ownerId?: string; signal?: AbortSignal; stopSignal?: AbortSignal; onText?: (text: string) => void; idempotency?: IdempotencyClaim } = {},
): Promise<CreateStoryFromCardResult> {
  const playerName = checkPlayerName(options.playerName);
  const parsed = parseCharacterCard(content);
  const data = parsed.card.data;
  const name = textOf(data, 'name');
  // The setting keeps the card's macros; prompts replace them, so a renamed player reads right.
  const setting = fitToColumn(textOf(data, 'scenario') || textOf(data, 'description') || `A story with ${name}.`, maxSettingChars);
  const book = isPlainObject(data['character_book']) ? (data['character_book'] as JsonObject) : {};
  // Planned before the story exists (checks and embeddings first); its id is filled in below.
  const plan = planCardCharacter('00000000-0000-0000-0000-000000000000', parsed);
  await ensureEmbeddingSettings(deps.db, deps.embedder);
  const loreDeferred = await embedPlannedLore(deps.embedder, plan.lore);

  // With a claim, the story and its key are one transaction: a retry resumes this story's opening.
  const made = await runIdempotent(deps.db, options.idempotency, () =>
    withTransaction(deps.db, newStoryTransaction, async (tx) => {
      const inserted = await insertStory(tx, {
        title: fitToColumn(name, maxTitleChars),
        setting,
        seed: deps.defaultSeed,
        settings: { imported_from: `character_card/${parsed.source}`, [storyCardSetting]: plan.linkId, lore: bookLimits(book) },
        ownerId: options.ownerId,
        playerName,
      });
      for (const lore of plan.lore) lore.row.storyId = inserted.id;
      const answer = { storyId: inserted.id, characterId: await writeCardCharacter(tx, inserted.id, plan), loreEntryIds: plan.lore.map((lore) => lore.row.id), warnings: plan.warnings };
      await recordIdempotentAnswer(tx, options.idempotency, answer);
      return answer;
    }),
  );
  const opening = await takeTurn(deps, {
    storyId: made.storyId,
    kind: 'open',
    ...(options.idempotency ? { idempotencyKey: openingTurnKey } : {}),
    ...(options.onText ? { onText: options.onText } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.stopSignal ? { stopSignal: options.stopSignal } : {}),
  });
  // The lore stored without embeddings waited for a scene to key its back-fill by.
  if (loreDeferred) await withTransaction(deps.db, {}, (tx) => queueEmbeddingBackfill(tx, made.storyId, opening.scene.id));
  return { story: await getStory(deps.db, made.storyId), opening, characterId: made.characterId, loreEntryIds: made.loreEntryIds, warnings: made.warnings };
}
