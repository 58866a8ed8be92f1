import { z } from 'zod';
import { newStoryTransaction, withTransaction } from '../db/index.js';
import { AppError } from '../errors.js';
import type { EngineDeps } from './engine-deps.js';
import { getStory, insertStory, type StoryRow } from './story-repo.js';
import { recordIdempotentAnswer, runIdempotent, type IdempotencyClaim } from '../idempotency/index.js';
import { takeTurn, type TurnResult } from './take-turn.js';

const controlCharacters = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
const text = (field: string, max: number) =>
  z
    .string({ error: `${field} must be text` })
    .trim()
    .max(max, `${field} is longer than ${max} characters`)
    .refine((value) => !controlCharacters.test(value), `${field} contains control characters`);

export const newStorySchema = z.object({
  title: text('title', 200).pipe(z.string().min(1, 'title must not be empty')),
  setting: text('setting', 4000).pipe(z.string().min(1, 'setting must not be empty')),
  instructions: text('instructions', 4000).optional(),
  systemPrompt: text('systemPrompt', 20000).optional(),
  seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
  /** Who {{user}} is; "you" (the default) keeps the second person. */
  playerName: text('playerName', 100).pipe(z.string().min(1, 'playerName must not be empty')).optional(),
});

export type NewStory = z.input<typeof newStorySchema>;

export function parseNewStory(input: unknown): z.output<typeof newStorySchema> {
  const parsed = newStorySchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AppError('validation', issue.message, { details: { field: issue.path.join('.') || undefined } });
  }
  return parsed.data;
}

// A keyed creation's opening turn carries this key, so a retry joins or replays that turn
// (or retries it, if it failed) instead of writing a second opening. The story is new to
// the request, so the key cannot meet another request's on it.
export const openingTurnKey = 'livingworld:opening';

/**
 * Creates a story and writes its opening scene. With a claim, the story row and the key are
 * one transaction: a retry finds the story and resumes its opening turn instead of making
 * a second story.
 */
export async function createStory(
  deps: EngineDeps & { defaultSeed: number },
  input: NewStory,
  options: { onText?: (text: string) => void; signal?: AbortSignal; stopSignal?: AbortSignal; settings?: Record<string, unknown>; ownerId?: string; idempotency?: IdempotencyClaim } = {},
): Promise<{ story: StoryRow; opening: TurnResult }> {
  const fields = parseNewStory(input);
  const { storyId } = await runIdempotent(deps.db, options.idempotency, () =>
    withTransaction(deps.db, newStoryTransaction, async (tx) => {
      const story = await insertStory(tx, {
        title: fields.title,
        setting: fields.setting,
        instructions: fields.instructions || undefined,
        systemPrompt: fields.systemPrompt || undefined,
        seed: fields.seed ?? deps.defaultSeed,
        ...(options.settings ? { settings: options.settings } : {}),
        ownerId: options.ownerId,
        playerName: fields.playerName,
      });
      await recordIdempotentAnswer(tx, options.idempotency, { storyId: story.id });
      return { storyId: story.id };
    }),
  );
  const opening = await takeTurn(deps, {
    storyId,
    kind: 'open',
    ...(options.idempotency ? { idempotencyKey: openingTurnKey } : {}),
    ...(options.onText ? { onText: options.onText } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.stopSignal ? { stopSignal: options.stopSignal } : {}),
  });
  return { story: await getStory(deps.db, storyId), opening };
}
