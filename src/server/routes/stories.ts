import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { createStory, newStorySchema } from '../../story/create-story.js';
import { createStoryFromCard } from '../../io/create-story-from-card.js';
import { checkPlayerName } from '../../io/check-player-name.js';
import { setPlayerName, setStoryLoreSettings } from '../../story/story-repo.js';
import { loreSettingsInput, storedLoreSettings } from '../../story/story-lore-settings.js';
import { getStory, listStories } from '../../story/story-repo.js';
import { deleteStoryIn } from '../../story/delete-story.js';
import { getSceneView } from '../../story/scene-view.js';
import { applyStoryStatus } from '../../story/set-story-status.js';
import { idempotentTransaction } from '../../idempotency/index.js';
import { sceneThoughts } from '../../characters/character-views.js';
import { listVisibleStoryIds } from '../access/access-repo.js';
import { authorizeStory } from '../auth.js';
import { idempotencyClaimOf } from '../idempotency-claim.js';
import { parseInput } from '../parse-input.js';
import { writingRateLimit } from '../rate-limits.js';
import { respondWithTurn } from '../turn-response.js';
import type { ServerContext } from '../server-context.js';
import { idParams, paceQuery, thoughtsQuery, wantsThoughts } from './route-inputs.js';
import { toStoryJson } from './story-json.js';
import { describeRoute } from '../api-docs/describe-route.js';
import { cardStoryShape, openedStoryShape, storyShape, storyWithSceneShape } from '../api-docs/answer-shapes.js';

const cardStoryBody = z.strictObject({
  card: z.record(z.string(), z.unknown(), { error: 'card must be a character card JSON object' }),
  playerName: z.string({ error: 'playerName must be text' }).optional(),
});
const storyPatchBody = z
  .strictObject({
    status: z.enum(['active', 'archived'], { error: 'status must be "active" or "archived"' }).optional(),
    playerName: z.string({ error: 'playerName must be text' }).optional(),
    lore: loreSettingsInput.optional(),
  })
  .refine((body) => body.status !== undefined || body.playerName !== undefined || body.lore !== undefined, { error: 'Give status, playerName or lore to change.' });

/** The answer to a story made from a card: the story, its opening, and what the card became. */
export function cardStoryAnswer(result: Awaited<ReturnType<typeof createStoryFromCard>>) {
  return {
    story: toStoryJson(result.story),
    scene: result.opening.scene,
    characterId: result.characterId,
    loreEntryIds: result.loreEntryIds,
    warnings: result.warnings,
  };
}

const docs = {
  create: describeRoute({
    summary: 'Begin a story from a setting, or from a character card given as JSON',
    tags: ['stories'],
    query: paceQuery,
    body: z.union([newStorySchema, cardStoryBody]),
    answers: { 201: { description: 'The story and its opening scene (from a card: also what the card became)', shape: z.union([openedStoryShape, cardStoryShape]) } },
    errors: ['rate_limited', 'payload_too_large', 'idempotency_mismatch', 'llm_unavailable', 'llm_bad_output', 'cancelled'],
    streams: true,
  }),
  list: describeRoute({
    summary: 'The stories you may see, newest first (up to 100)',
    tags: ['stories'],
    answers: { 200: { description: 'Stories', shape: z.looseObject({ stories: z.array(storyShape) }) } },
    errors: [],
  }),
  show: describeRoute({
    summary: 'A story with its head scene and your role',
    tags: ['stories'],
    params: idParams,
    query: thoughtsQuery,
    answers: { 200: { description: 'The story', shape: storyWithSceneShape } },
    errors: ['not_found'],
  }),
  change: describeRoute({
    summary: 'Archive or reactivate a story (its owner), or rename the player (any player)',
    tags: ['stories'],
    params: idParams,
    body: storyPatchBody,
    answers: { 200: { description: 'The story as changed', shape: z.looseObject({ story: storyShape }) } },
    errors: ['not_found', 'forbidden'],
  }),
  remove: describeRoute({
    summary: 'Delete a story and everything in it (its owner)',
    tags: ['stories'],
    params: idParams,
    answers: { 204: { description: 'Deleted', empty: true } },
    errors: ['not_found', 'forbidden', 'turn_in_progress'],
  }),
};

export function registerStoryRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { db } = ctx.runtime;

  app.post('/api/stories', { config: writingRateLimit(ctx.config), schema: docs.create }, async (request, reply) => {
    const body = request.body;
    if (body !== null && typeof body === 'object' && 'card' in body) {
      // A story opened by a V1/V2/V3 card given as JSON (PNG and CHARX go to POST /api/cards).
      const { card, playerName } = parseInput(cardStoryBody, body);
      const idempotency = idempotencyClaimOf(request);
      return respondWithTurn(ctx, request, reply, async ({ signal, stopSignal, onText }) => {
        const result = await createStoryFromCard(ctx.runtime.deps, JSON.stringify(card), {
          signal,
          stopSignal,
          ...(idempotency ? { idempotency } : {}),
          ownerId: request.user.id,
          ...(playerName !== undefined ? { playerName } : {}),
          ...(onText ? { onText } : {}),
        });
        return cardStoryAnswer(result);
      });
    }
    const input = parseInput(newStorySchema, body);
    const idempotency = idempotencyClaimOf(request);
    return respondWithTurn(ctx, request, reply, async ({ signal, stopSignal, onText }) => {
      // Owned from the start, so a story whose opening fails is still its creator's alone.
      const { story, opening } = await createStory(ctx.runtime.deps, input, {
        signal,
        stopSignal,
        ownerId: request.user.id,
        ...(onText ? { onText } : {}),
        ...(idempotency ? { idempotency } : {}),
      });
      return { story: toStoryJson(story), scene: opening.scene };
    });
  });

  app.get('/api/stories', { schema: docs.list }, async (request) => {
    const storyIds = request.user.unrestricted ? undefined : await listVisibleStoryIds(db, request.user.id);
    const stories = await listStories(db, { limit: 100, ...(storyIds ? { storyIds } : {}) });
    return { stories: stories.map(toStoryJson) };
  });

  app.get('/api/stories/:id', { schema: docs.show }, async (request) => {
    const { id } = parseInput(idParams, request.params, 'params');
    const query = parseInput(thoughtsQuery, request.query, 'query');
    const role = await authorizeStory(db, request.user, id, 'read');
    const story = await getStory(db, id);
    const scene = story.headSceneId ? await getSceneView(db, id, story.headSceneId) : null;
    const thoughts = wantsThoughts(query) && scene ? await sceneThoughts(db, id, scene.id) : undefined;
    return { story: toStoryJson(story), scene, role, ...(thoughts ? { thoughts } : {}) };
  });

  /**
   * Archives a story (readable and exportable, not playable) or makes it playable again — its
   * owner's call — and/or renames the player or changes the book-wide lore settings (scan
   * depth, token budget, recursion, group scoring), which any player may do.
   */
  app.patch('/api/stories/:id', { schema: docs.change }, async (request) => {
    const { id } = parseInput(idParams, request.params, 'params');
    const body = parseInput(storyPatchBody, request.body);
    await authorizeStory(db, request.user, id, body.status !== undefined ? 'own' : 'play');
    const playerName = body.playerName === undefined ? undefined : checkPlayerName(body.playerName);
    // Both changes and the answer in one transaction: a retry with the key changes nothing twice.
    return idempotentTransaction(db, idempotencyClaimOf(request), async (tx) => {
      if (body.status !== undefined) await applyStoryStatus(tx, id, body.status);
      if (playerName !== undefined) await setPlayerName(tx, id, playerName);
      if (body.lore !== undefined) await setStoryLoreSettings(tx, id, storedLoreSettings(body.lore));
      return { story: toStoryJson(await getStory(tx, id)) };
    });
  });

  /** The owner deletes the story and all its rows; 409 turn_in_progress while a scene is being written. */
  app.delete('/api/stories/:id', { schema: docs.remove }, async (request, reply) => {
    const { id } = parseInput(idParams, request.params, 'params');
    // Authorised inside: a keyed retry after the delete landed finds its answer, not a missing story.
    await idempotentTransaction(db, idempotencyClaimOf(request), async (tx) => {
      await authorizeStory(tx, request.user, id, 'own');
      await deleteStoryIn(tx, id);
      return null;
    });
    return reply.status(204).send();
  });
}
