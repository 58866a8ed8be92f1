import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { takeTurn } from '../../story/take-turn.js';
import { rewindStory } from '../../story/rewind-story.js';
import { maxInstructionLength, validateTurnInput } from '../../story/validate-turn-input.js';
import { isUuid } from '../../story/story-repo.js';
import { authorizeStory } from '../auth.js';
import { runIdempotent } from '../../idempotency/index.js';
import { idempotencyClaimOf } from '../idempotency-claim.js';
import { parseInput } from '../parse-input.js';
import { writingRateLimit } from '../rate-limits.js';
import { respondWithTurn } from '../turn-response.js';
import type { ServerContext } from '../server-context.js';
import { idempotencyKeyOf, idParams, paceQuery } from './route-inputs.js';
import { describeRoute } from '../api-docs/describe-route.js';
import { headMovedShape, turnShape } from '../api-docs/answer-shapes.js';

// The engine checks each field itself (and names it); here the body only has to be an object.
const advanceBody = z.object({ choice: z.unknown(), instruction: z.unknown().optional(), fromSceneId: z.unknown().optional() });
const regenerateBody = z.object({ instruction: z.unknown().optional(), fromSceneId: z.unknown().optional() });
const rewindBody = z.object({
  toSceneId: z
    .string({ error: 'toSceneId must be a scene id' })
    .refine(isUuid, 'toSceneId must be a scene id (a UUID)')
    .optional(),
  version: z.number({ error: 'version must be a number' }).int().min(0).optional(),
});

const turnErrors = ['not_found', 'forbidden', 'turn_conflict', 'story_archived', 'rate_limited', 'idempotency_mismatch', 'llm_unavailable', 'llm_bad_output', 'cancelled'] as const;
const headErrors = ['not_found', 'forbidden', 'turn_conflict', 'version_conflict', 'idempotency_mismatch'] as const;
const docs = {
  advance: describeRoute({
    summary: 'Take a choice (1-9, with an optional instruction): the next scene is written',
    tags: ['turns'],
    params: idParams,
    query: paceQuery,
    body: advanceBody.extend({
      choice: z.number().int().min(1).max(9).describe('the number of the choice taken'),
      instruction: z.string().max(maxInstructionLength).optional().describe('what the player does or says, woven into the scene'),
      fromSceneId: z.string().optional().describe('refuse (turn_conflict) if the head has moved on from this scene'),
    }),
    answers: { 201: { description: 'The new scene', shape: turnShape } },
    errors: [...turnErrors],
    streams: true,
  }),
  regenerate: describeRoute({
    summary: 'Write the head scene again, as a sibling that becomes the head',
    tags: ['turns'],
    params: idParams,
    query: paceQuery,
    body: regenerateBody.extend({ instruction: z.string().max(maxInstructionLength).optional(), fromSceneId: z.string().optional() }),
    answers: { 201: { description: 'The new scene', shape: turnShape } },
    errors: [...turnErrors],
    streams: true,
  }),
  undo: describeRoute({
    summary: "Move the head back to the head scene's parent (the scene is kept)",
    tags: ['turns'],
    params: idParams,
    body: rewindBody.pick({ version: true }),
    answers: { 200: { description: 'The new head', shape: headMovedShape } },
    errors: [...headErrors],
  }),
  rewind: describeRoute({
    summary: 'Move the head to any scene of the story (default: undo)',
    tags: ['turns'],
    params: idParams,
    body: rewindBody,
    answers: { 200: { description: 'The new head', shape: headMovedShape } },
    errors: [...headErrors],
  }),
};

export function registerTurnRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { db } = ctx.runtime;

  // Advance and regenerate differ only in their body: one handler takes either kind of turn.
  const turnRoute = (kind: 'advance' | 'regenerate', bodySchema: typeof advanceBody | typeof regenerateBody) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      const { id } = parseInput(idParams, request.params, 'params');
      await authorizeStory(db, request.user, id, 'play');
      const body: { choice?: unknown; instruction?: unknown; fromSceneId?: unknown } = parseInput(bodySchema, request.body);
      // Checked before any event stream opens, so that bad input is a plain 400.
      const input = validateTurnInput({
        kind,
        choiceNumber: body.choice,
        instruction: body.instruction,
        fromSceneId: body.fromSceneId,
        idempotencyKey: idempotencyKeyOf(request),
      });
      return respondWithTurn(ctx, request, reply, async ({ signal, stopSignal, onText, onThinking }) => {
        const result = await takeTurn(ctx.runtime.deps, { storyId: id, ...input, signal, stopSignal, ...(onText ? { onText } : {}), ...(onThinking ? { onThinking } : {}) });
        return { scene: result.scene, turnId: result.turnId, how: result.how };
      });
    };

  app.post('/api/stories/:id/turns', { config: writingRateLimit(ctx.config), schema: docs.advance }, turnRoute('advance', advanceBody));
  app.post('/api/stories/:id/regenerate', { config: writingRateLimit(ctx.config), schema: docs.regenerate }, turnRoute('regenerate', regenerateBody));

  app.post('/api/stories/:id/undo', { schema: docs.undo }, async (request) => {
    const { id } = parseInput(idParams, request.params, 'params');
    await authorizeStory(db, request.user, id, 'play');
    const body = parseInput(rewindBody.pick({ version: true }), request.body);
    const claim = idempotencyClaimOf(request);
    return runIdempotent(db, claim, () => rewindStory(ctx.runtime.deps, id, { undo: true }, body.version, claim));
  });

  app.post('/api/stories/:id/rewind', { schema: docs.rewind }, async (request) => {
    const { id } = parseInput(idParams, request.params, 'params');
    await authorizeStory(db, request.user, id, 'play');
    const body = parseInput(rewindBody, request.body);
    const claim = idempotencyClaimOf(request);
    return runIdempotent(db, claim, () => rewindStory(ctx.runtime.deps, id, body.toSceneId ? { toSceneId: body.toSceneId } : { undo: true }, body.version, claim));
  });
}
