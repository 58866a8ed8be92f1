import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { getStory } from '../../story/story-repo.js';
import { findUserByName, listStoryMembers, upsertStoryMember } from '../access/access-repo.js';
import { authorizeStory } from '../auth.js';
import { idempotentTransaction } from '../../idempotency/index.js';
import { idempotencyClaimOf } from '../idempotency-claim.js';
import { parseInput } from '../parse-input.js';
import type { ServerContext } from '../server-context.js';
import { idParams } from './route-inputs.js';
import { describeRoute } from '../api-docs/describe-route.js';
import { memberAddedShape, membersShape } from '../api-docs/answer-shapes.js';

const memberBody = z.object({
  user: z.string({ error: 'user must be a user name' }).trim().min(1, 'user must not be empty').max(64, 'user is longer than 64 characters'),
  role: z.enum(['reader', 'player'], { error: 'role must be reader or player' }),
});

const docs = {
  invite: describeRoute({
    summary: 'Invite a user to read or to play the story (its owner); inviting again changes the role',
    tags: ['members'],
    params: idParams,
    body: memberBody,
    answers: { 201: { description: 'The member', shape: memberAddedShape } },
    errors: ['not_found', 'forbidden', 'idempotency_mismatch'],
  }),
  list: describeRoute({
    summary: "The story's owner, readers and players",
    tags: ['members'],
    params: idParams,
    answers: { 200: { description: 'Members', shape: membersShape } },
    errors: ['not_found'],
  }),
};

export function registerMemberRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { db } = ctx.runtime;

  /** The owner invites another user to read or to play; inviting again changes the role. */
  app.post('/api/stories/:id/members', { schema: docs.invite }, async (request, reply) => {
    const { id } = parseInput(idParams, request.params, 'params');
    await authorizeStory(db, request.user, id, 'own');
    const body = parseInput(memberBody, request.body);
    await getStory(db, id);
    const user = await findUserByName(db, body.user);
    if (!user) {
      throw new AppError('not_found', `No user named ${body.user}; create one with \`livingworld token create --user ${body.user}\`.`, {
        details: { field: 'user' },
      });
    }
    const owner = (await listStoryMembers(db, id)).find((member) => member.role === 'owner');
    if (owner && owner.user.toLowerCase() === user.name.toLowerCase()) {
      throw new AppError('validation', `${user.name} owns this story already.`, { details: { field: 'user' } });
    }
    const answer = await idempotentTransaction(db, idempotencyClaimOf(request), async (tx) => {
      await upsertStoryMember(tx, id, user.id, body.role);
      return { member: { user: user.name, role: body.role } };
    });
    return reply.status(201).send(answer);
  });

  app.get('/api/stories/:id/members', { schema: docs.list }, async (request) => {
    const { id } = parseInput(idParams, request.params, 'params');
    await authorizeStory(db, request.user, id, 'read');
    await getStory(db, id);
    return { members: await listStoryMembers(db, id) };
  });
}
