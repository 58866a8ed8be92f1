import { z } from 'zod';
import { withTransaction } from '../db/index.js';
import { AppError } from '../errors.js';
import type { EngineDeps } from './engine-deps.js';
import { insertStory, type StoryRow } from './story-repo.js';
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

/** Creates a story and writes its opening scene. */
export async function createStory(
  deps: EngineDeps & { defaultSeed: number },
  input: NewStory,
  options: { onText?: (text: string) => void; signal?: AbortSignal; settings?: Record<string, unknown>; ownerId?: string } = {},
): Promise<{ story: StoryRow; opening: TurnResult }> {
  const fields = parseNewStory(input);
  const story = await withTransaction(deps.db, {}, (tx) =>
    insertStory(tx, {
      title: fields.title,
      setting: fields.setting,
      instructions: fields.instructions || undefined,
      systemPrompt: fields.systemPrompt || undefined,
      seed: fields.seed ?? deps.defaultSeed,
      ...(options.settings ? { settings: options.settings } : {}),
      ownerId: options.ownerId,
      playerName: fields.playerName,
    }),
  );
  const opening = await takeTurn(deps, {
    storyId: story.id,
    kind: 'open',
    ...(options.onText ? { onText: options.onText } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { story: { ...story, headSceneId: opening.scene.id, version: story.version + 1 }, opening };
}
