import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { createStoryFromCard } from '../../io/create-story-from-card.js';
import { exportCharacterCard, loadCharacterAvatar } from '../../io/export-character-card.js';
import { parseInput } from '../parse-input.js';
import { writingRateLimit } from '../rate-limits.js';
import { respondWithTurn } from '../turn-response.js';
import { idempotencyClaimOf } from '../idempotency-claim.js';
import type { ServerContext } from '../server-context.js';
import { attachment } from './attachment.js';
import { visibleCharacter } from './characters.js';
import { idParams, paceQuery } from './route-inputs.js';
import { cardStoryAnswer } from './stories.js';
import { describeRoute } from '../api-docs/describe-route.js';
import { cardStoryShape } from '../api-docs/answer-shapes.js';

const cardQuery = z.object({ playerName: z.string({ error: 'playerName must be text' }).optional() });
const exportQuery = z.object({
  format: z.enum(['json', 'png', 'charx'], { error: 'format must be json, png or charx' }).default('json'),
  version: z.enum(['2', '3'], { error: 'version must be 2 or 3' }).default('3'),
});

const docs = {
  story: describeRoute({
    summary: "Begin a story from a character card file: its scenario becomes the setting, its greeting the opening scene",
    tags: ['cards'],
    query: cardQuery.extend(paceQuery.shape),
    body: { media: { 'application/octet-stream': 'the card: PNG (chara/ccv3 chunk), CHARX or V1/V2/V3 JSON' } },
    answers: { 201: { description: 'The story, its opening and what the card became', shape: cardStoryShape } },
    errors: ['rate_limited', 'payload_too_large', 'unprocessable', 'idempotency_mismatch', 'llm_unavailable', 'llm_bad_output', 'cancelled'],
    streams: true,
  }),
  avatar: describeRoute({
    summary: "A character's picture (the card's image)",
    tags: ['cards'],
    params: idParams,
    answers: { 200: { description: 'The image as imported', media: { 'image/*': 'the picture as the card carried it (PNG, JPEG, WebP…)' } } },
    errors: ['not_found'],
  }),
  card: describeRoute({
    summary: 'A character as a card file (V2 or V3; JSON, PNG or CHARX)',
    tags: ['cards'],
    params: idParams,
    query: exportQuery,
    answers: { 200: { description: 'The card file', media: { 'application/json': 'a card JSON', 'image/png': 'a card PNG', 'application/zip': 'a CHARX file' } } },
    errors: ['not_found'],
  }),
};

/** Character cards: a story from a card file, a character's card and avatar. */
export function registerCardRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { db } = ctx.runtime;

  // The card file is the raw body (PNG, CHARX or JSON); the importer tells them apart.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: ctx.config.importLimitBytes }, (_request, body, done) => done(null, body));
    scope.post('/api/cards', { bodyLimit: ctx.config.importLimitBytes, config: writingRateLimit(ctx.config), schema: docs.story }, async (request, reply) => {
      const { playerName } = parseInput(cardQuery, request.query, 'query');
      if (!Buffer.isBuffer(request.body) || request.body.length === 0) {
        throw new AppError('validation', 'Send the card file (PNG, CHARX or JSON) as the request body.', { details: { field: 'body' } });
      }
      const content = request.body;
      const idempotency = idempotencyClaimOf(request);
      return respondWithTurn(ctx, request, reply, async ({ signal, stopSignal, onText }) =>
        cardStoryAnswer(
          await createStoryFromCard(ctx.runtime.deps, content, {
            signal,
            stopSignal,
            ...(idempotency ? { idempotency } : {}),
            ownerId: request.user.id,
            ...(playerName !== undefined ? { playerName } : {}),
            ...(onText ? { onText } : {}),
          }),
        ),
      );
    });
  });

  app.get('/api/characters/:id/avatar', { schema: docs.avatar }, async (request, reply) => {
    const { id } = parseInput(idParams, request.params, 'params');
    const character = await visibleCharacter(db, request.user, id, 'read');
    const avatar = await loadCharacterAvatar(db, character.storyId, id);
    if (!avatar) throw new AppError('not_found', `${character.name} has no picture.`);
    return reply.type(avatar.mediaType).header('cache-control', 'private, max-age=300').send(avatar.data);
  });

  app.get('/api/characters/:id/card', { schema: docs.card }, async (request, reply) => {
    const { id } = parseInput(idParams, request.params, 'params');
    const { format, version } = parseInput(exportQuery, request.query, 'query');
    const character = await visibleCharacter(db, request.user, id, 'read');
    const card = await exportCharacterCard(db, character.storyId, id, { format, version: Number(version) as 2 | 3 });
    return reply.type(card.mediaType).header('content-disposition', attachment(card.filename)).send(card.content);
  });
}
