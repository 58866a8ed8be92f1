import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { getStory, isUuid } from '../../story/story-repo.js';
import {
  findCharacter,
  getCharacterDetail,
  listCharactersAtScene,
  sceneThoughts,
  talkToCharacter,
  updateCharacter,
  type Character,
} from '../../characters/index.js';
import { authorizeStory, type RequestUser } from '../auth.js';
import { runIdempotent } from '../../idempotency/index.js';
import { idempotencyClaimOf } from '../idempotency-claim.js';
import { parseInput } from '../parse-input.js';
import { writingRateLimit } from '../rate-limits.js';
import type { ServerContext } from '../server-context.js';
import { idParams, parseIfMatch, wantsThoughts, worldQuery } from './route-inputs.js';
import { readRelationshipsAt, resolveSceneInStory } from '../../world/index.js';
import type { Queryable } from '../../db/index.js';
import { charactersWithAvatar } from '../../io/export-character-card.js';
import { describeRoute } from '../api-docs/describe-route.js';
import { characterDetailShape, characterEditedShape, characterListShape, relationshipGraphShape, talkShape } from '../api-docs/answer-shapes.js';

const text = (field: string, max: number) => z.string({ error: `${field} must be text` }).max(max, `${field} is longer than ${max} characters`);
const patchBody = z.strictObject(
  {
    name: text('name', 100).optional(),
    description: text('description', 4000).optional(),
    personality: text('personality', 4000).optional(),
    goals: text('goals', 4000).optional(),
    background: text('background', 8000).optional(),
    mood: text('mood', 100).optional(),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `these fields cannot be edited: ${issue.keys.join(', ')}` : undefined) },
);
const talkBody = z.object({
  message: z.string({ error: 'message must be text' }).trim().min(1, 'message must not be empty').max(2000, 'message is longer than 2000 characters'),
});

/** The character, if the user may see its story; anything else is not found. */
export async function visibleCharacter(db: Queryable, user: RequestUser, characterId: string, need: 'read' | 'play'): Promise<Character> {
  const character = isUuid(characterId) ? await findCharacter(db, characterId) : undefined;
  if (!character) throw new AppError('not_found', `No character with id ${characterId}.`);
  try {
    await authorizeStory(db, user, character.storyId, need);
  } catch (error) {
    if (error instanceof AppError && error.code === 'not_found') throw new AppError('not_found', `No character with id ${characterId}.`);
    throw error;
  }
  return character;
}

const ifMatch = 'Send If-Match with the version edited (from the ETag or the version field).';
const docs = {
  list: describeRoute({
    summary: 'The characters as the world stands at a scene (default: the head), with how each stands with the player',
    tags: ['characters'],
    params: idParams,
    query: worldQuery,
    answers: { 200: { description: 'Characters', shape: characterListShape } },
    errors: ['not_found'],
  }),
  relationships: describeRoute({
    summary: 'Every relationship at a scene (default: the head), for the relationship graph',
    tags: ['characters'],
    params: idParams,
    query: worldQuery,
    answers: { 200: { description: 'Nodes and edges (`to: null` is the player)', shape: relationshipGraphShape } },
    errors: ['not_found'],
  }),
  show: describeRoute({
    summary: 'A character at a scene (default: the head) with its relationships and memories',
    tags: ['characters'],
    params: idParams,
    query: worldQuery,
    answers: { 200: { description: 'The character; ETag carries its version', shape: characterDetailShape } },
    errors: ['not_found'],
  }),
  edit: describeRoute({
    summary: 'Edit a character',
    description: ifMatch,
    tags: ['characters'],
    params: idParams,
    body: patchBody,
    answers: { 200: { description: 'The character as edited', shape: characterEditedShape } },
    errors: ['not_found', 'forbidden', 'version_conflict', 'idempotency_mismatch'],
  }),
  talk: describeRoute({
    summary: 'Say something to a character, who answers in character (the story does not move)',
    tags: ['characters'],
    params: idParams,
    body: talkBody,
    answers: { 200: { description: 'The reply', shape: talkShape } },
    errors: ['not_found', 'forbidden', 'rate_limited', 'idempotency_mismatch', 'llm_unavailable', 'llm_bad_output', 'cancelled'],
  }),
};

export function registerCharacterRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { db } = ctx.runtime;

  app.get('/api/stories/:id/characters', { schema: docs.list }, async (request) => {
    const { id } = parseInput(idParams, request.params, 'params');
    const query = parseInput(worldQuery, request.query, 'query');
    await authorizeStory(db, request.user, id, 'read');
    await getStory(db, id);
    const atSceneId = await resolveSceneInStory(db, id, query.at);
    const characters = await listCharactersAtScene(db, id, atSceneId);
    const thoughts = wantsThoughts(query) && atSceneId ? await sceneThoughts(db, id, atSceneId) : [];
    const withAvatar = await charactersWithAvatar(db, id);
    return {
      atSceneId,
      characters: characters.map((character) => ({
        ...character,
        ...(withAvatar.has(character.id) ? { avatarUrl: `/api/characters/${character.id}/avatar` } : {}),
        ...(wantsThoughts(query) ? { thoughts: thoughts.filter((t) => t.characterId === character.id).map((t) => t.content) } : {}),
      })),
    };
  });

  /** Every relationship at a scene (default: the head), for the relationship graph (`to: null` is the player). */
  app.get('/api/stories/:id/relationships', { schema: docs.relationships }, async (request) => {
    const { id } = parseInput(idParams, request.params, 'params');
    const query = parseInput(worldQuery, request.query, 'query');
    await authorizeStory(db, request.user, id, 'read');
    await getStory(db, id);
    const atSceneId = await resolveSceneInStory(db, id, query.at);
    const characters = await listCharactersAtScene(db, id, atSceneId);
    const edges = (await readRelationshipsAt(db, id, atSceneId)).map((r) => ({
      from: r.characterId,
      to: r.targetCharacterId,
      sentiment: r.sentiment,
      trust: r.trust,
      familiarity: r.familiarity,
      type: r.type,
      interactionCount: r.interactionCount,
    }));
    return { atSceneId, nodes: characters.map((c) => ({ id: c.id, name: c.name, mood: c.mood, met: c.met })), edges };
  });

  app.get('/api/characters/:id', { schema: docs.show }, async (request, reply) => {
    const { id } = parseInput(idParams, request.params, 'params');
    const query = parseInput(worldQuery, request.query, 'query');
    await visibleCharacter(db, request.user, id, 'read');
    const detail = await getCharacterDetail(db, id, { includeThoughts: wantsThoughts(query), ...(query.at ? { atSceneId: query.at } : {}) });
    void reply.header('etag', `"${detail.character.version}"`);
    return detail;
  });

  app.patch('/api/characters/:id', { schema: docs.edit }, async (request, reply) => {
    const { id } = parseInput(idParams, request.params, 'params');
    await visibleCharacter(db, request.user, id, 'play');
    const expectedVersion = parseIfMatch(request.headers['if-match']);
    const patch = parseInput(patchBody, request.body);
    const claim = idempotencyClaimOf(request);
    const character = await runIdempotent(db, claim, () => updateCharacter(db, { characterId: id, expectedVersion, patch }, claim));
    void reply.header('etag', `"${character.version}"`);
    return { character };
  });

  app.post('/api/characters/:id/talk', { config: writingRateLimit(ctx.config), schema: docs.talk }, async (request, reply) => {
    const { id } = parseInput(idParams, request.params, 'params');
    const character = await visibleCharacter(db, request.user, id, 'play');
    const { message } = parseInput(talkBody, request.body);
    const clientGone = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableFinished) clientGone.abort();
    };
    reply.raw.on('close', onClose);
    try {
      const idempotency = idempotencyClaimOf(request);
      const { reply: answer } = await runIdempotent(db, idempotency, () =>
        talkToCharacter(ctx.runtime.deps, { characterId: id, storyId: character.storyId, message, signal: clientGone.signal, ...(idempotency ? { idempotency } : {}) }),
      );
      return { reply: answer, character: { id: character.id, name: character.name } };
    } finally {
      reply.raw.off('close', onClose);
    }
  });
}
