import { randomUUID } from 'node:crypto';
import type { Database } from '../db/index.js';
import { recordModelCalls } from '../llm/model-call-counts.js';
import { withTransaction } from '../db/index.js';
import { recordIdempotentAnswer, type IdempotencyClaim } from '../idempotency/index.js';
import { AppError } from '../errors.js';
import type { ModelProvider, TaskCharacter } from '../llm/provider.js';
import type { Embedder } from '../memory/embedder.js';
import { getLogger } from '../logger.js';
import { ensureEmbeddingSettings } from '../memory/embedding-settings.js';
import { embedOrDefer, queueEmbeddingBackfill } from '../memory/embedding-backfill.js';
import { insertCharacterMemories } from '../memory/memory-repo.js';
import { retrieveMemories } from '../memory/retrieve-memories.js';
import { buildTalkRequest } from '../story/prompts.js';
import { replaceMacrosInRequest } from '../story/macros.js';
import { getCharacter } from './character-repo.js';
import { adjustRelationship, playerRelationships } from './relationship-repo.js';
import { lockHeadForWorldWrite, meetCharacters, readCharactersAt } from '../world/index.js';

export interface TalkDeps {
  db: Database;
  provider: ModelProvider;
  embedder: Embedder;
}

export interface TalkInput {
  characterId: string;
  /** When given, the character must belong to this story. */
  storyId?: string;
  message: string;
  signal?: AbortSignal;
  /** A keyed request: its answer is stored with the exchange, so a retry replays it. */
  idempotency?: IdempotencyClaim;
}

export const maxTalkMessageLength = 2000;
const maxReplyLength = 4000;
/** Each conversation makes the character a little more familiar with the player. */
export const talkFamiliarityDelta = 0.02;

function seedOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/**
 * The player speaks to one character. The character answers from its own personality, mood,
 * relationship with the player and memories (only its own). The model is called with no
 * transaction open; the exchange is then stored in one short transaction as a conversation
 * memory, and familiarity and the interaction count rise atomically.
 */
export async function talkToCharacter(deps: TalkDeps, input: TalkInput): Promise<{ reply: string }> {
  const message = input.message.trim();
  if (message.length === 0) throw new AppError('validation', 'Say something: the message is empty.');
  if (message.length > maxTalkMessageLength) throw new AppError('validation', `The message is longer than ${maxTalkMessageLength} characters.`);

  const base = await getCharacter(deps.db, input.characterId);
  if (input.storyId !== undefined && base.storyId !== input.storyId) {
    throw new AppError('not_found', `No character with id ${input.characterId} in this story.`);
  }
  const storyId = base.storyId;
  const { rows } = await deps.db.query<{ title: string; setting: string; seed: number | string; head_scene_id: string | null; status: string; player_name: string }>(
    `SELECT title, setting, seed, head_scene_id, status, player_name FROM stories WHERE id = $1`,
    [storyId],
  );
  const story = rows[0];
  if (!story) throw new AppError('not_found', `No story with id ${storyId}.`);
  if (story.status === 'archived') throw new AppError('story_archived', 'This story is archived; unarchive it to talk to its characters.');

  // The character as the world stands at the head: a rewind or another branch shows another mood.
  // Someone met only on another branch is met here by this talk, as they were when created.
  const [character = base] = await readCharactersAt(deps.db, storyId, story.head_scene_id, { characterIds: [base.id] });
  await ensureEmbeddingSettings(deps.db, deps.embedder);
  const log = getLogger().child({ storyId, characterId: character.id });
  const [queryEmbedding] = (await embedOrDefer(deps.embedder, [message], log, 'retrieval', input.signal)) ?? [];
  const memories = await retrieveMemories(deps.db, {
    storyId,
    characterId: character.id,
    ...(queryEmbedding ? { queryEmbedding } : {}),
    limit: 6,
    ...(story.head_scene_id ? { headSceneId: story.head_scene_id } : {}),
  });
  const relationship = (await playerRelationships(deps.db, storyId, [character.id], story.head_scene_id)).get(character.id);
  const taskCharacter: TaskCharacter = {
    name: character.name,
    mood: character.mood,
    memories: memories.map((memory) => memory.content),
    ...(character.description ? { description: character.description } : {}),
    ...(character.personality ? { personality: character.personality } : {}),
    ...(relationship ? { trust: relationship.trust, sentiment: relationship.sentiment } : {}),
  };
  // A card's text speaks of {{char}} and {{user}}: here the character talked to, and the player.
  const request = replaceMacrosInRequest(
    buildTalkRequest({
      storyTitle: story.title,
      setting: story.setting,
      character: taskCharacter,
      message,
      seed: seedOf(`${story.seed}:${character.id}:${message}`),
    }),
    { char: character.name, user: story.player_name },
  );

  // Every HTTP attempt is a call; a provider that reports none (the offline storyteller) made one.
  let attempts = 0;
  const talkId = randomUUID();
  const countTalkCalls = () =>
    recordModelCalls(deps.db, { storyId, sourceId: `talk:${talkId}`, purpose: 'talk', calls: Math.max(1, attempts) }).catch(() => {});
  const completion = await deps.provider
    .complete({ ...request, onAttempt: () => void attempts++ }, input.signal)
    .finally(countTalkCalls);
  const reply = completion.text.trim().slice(0, maxReplyLength);
  if (reply.length === 0) throw new AppError('llm_bad_output', 'The model gave an empty reply; try again.');

  const exchange = `The player said: "${message}" I answered: "${reply}"`.slice(0, 8000);
  const [exchangeEmbedding] = (await embedOrDefer(deps.embedder, [exchange], log, 'turn', input.signal)) ?? [];
  // The talk belongs to the head as it is when it is stored (a turn may have landed meanwhile:
  // then the talk is part of the new scene's world). The story row is held FOR SHARE, so a
  // turn's commit either copied the head before this or waits and carries it.
  await withTransaction(deps.db, {}, async (tx) => {
    const { headSceneId } = await lockHeadForWorldWrite(tx, storyId);
    await insertCharacterMemories(tx, [
      {
        storyId,
        characterId: character.id,
        sceneId: headSceneId,
        kind: 'conversation',
        content: exchange,
        emotionalValence: relationship?.sentiment ?? 0,
        importance: 0.5,
        embedding: exchangeEmbedding ?? null,
      },
    ]);
    if (headSceneId === null) {
      await recordIdempotentAnswer(tx, input.idempotency, { reply });
      return;
    }
    await meetCharacters(tx, { storyId, sceneId: headSceneId, source: 'talk', characterIds: [character.id] });
    if (exchangeEmbedding === undefined) await queueEmbeddingBackfill(tx, storyId, headSceneId);
    await adjustRelationship(tx, { storyId, sceneId: headSceneId, source: 'talk', characterId: character.id, targetCharacterId: null, familiarityDelta: talkFamiliarityDelta });
    await recordIdempotentAnswer(tx, input.idempotency, { reply });
  });
  return { reply };
}
