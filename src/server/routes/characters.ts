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

export function registerCharacterRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { db } = ctx.runtime;

  app.get('/api/stories/:id/characters', async (request) => {
    const { id } = parseInput(idParams, request.params, 'params');
    const query = parseInput(worldQuery, request.query, 'query');
    await authorizeStory(db, request.user, id, 'read');
    await getStory(db, id);
    const atSceneId = await resolveSceneInStory(db, id, query.at);
    const characters = await listCharactersAtScene(db, id, atSceneId);
    const thoughts = wantsThoughts(query) && atSceneId ? await sceneThoughts(db, id, atSceneId) : [];
    return {
      atSceneId,
      characters: characters.map((character) => ({
        ...character,
        ...(wantsThoughts(query) ? { thoughts: thoughts.filter((t) => t.characterId === character.id).map((t) => t.content) } : {}),
      })),
    };
  });

  /** Every relationship at a scene (default: the head), for the relationship graph (`to: null` is the player). */
  app.get('/api/stories/:id/relationships', async (request) => {
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

  app.get('/api/characters/:id', async (request, reply) => {
    const { id } = parseInput(idParams, request.params, 'params');
    const query = parseInput(worldQuery, request.query, 'query');
    await visibleCharacter(db, request.user, id, 'read');
    const detail = await getCharacterDetail(db, id, { includeThoughts: wantsThoughts(query), ...(query.at ? { atSceneId: query.at } : {}) });
    void reply.header('etag', `"${detail.character.version}"`);
    return detail;
  });

  app.patch('/api/characters/:id', async (request, reply) => {
    const { id } = parseInput(idParams, request.params, 'params');
    await visibleCharacter(db, request.user, id, 'play');
    const expectedVersion = parseIfMatch(request.headers['if-match']);
    const patch = parseInput(patchBody, request.body);
    const claim = idempotencyClaimOf(request);
    const character = await runIdempotent(db, claim, () => updateCharacter(db, { characterId: id, expectedVersion, patch }, claim));
    void reply.header('etag', `"${character.version}"`);
    return { character };
  });

  app.post('/api/characters/:id/talk', { config: writingRateLimit(ctx.config) }, async (request, reply) => {
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
