import type { FastifyInstance } from 'fastify';
import { createStory, newStorySchema } from '../../story/create-story.js';
import { getStory, listStories } from '../../story/story-repo.js';
import { getSceneView } from '../../story/scene-view.js';
import { sceneThoughts } from '../../characters/character-views.js';
import { listVisibleStoryIds } from '../access/access-repo.js';
import { authorizeStory } from '../auth.js';
import { idempotencyClaimOf } from '../idempotency-claim.js';
import { parseInput } from '../parse-input.js';
import { writingRateLimit } from '../rate-limits.js';
import { respondWithTurn } from '../turn-response.js';
import type { ServerContext } from '../server-context.js';
import { idParams, thoughtsQuery, wantsThoughts } from './route-inputs.js';
import { toStoryJson } from './story-json.js';

export function registerStoryRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { db } = ctx.runtime;

  app.post('/api/stories', { config: writingRateLimit(ctx.config) }, async (request, reply) => {
    const input = parseInput(newStorySchema, request.body);
    const idempotency = idempotencyClaimOf(request);
    return respondWithTurn(ctx, request, reply, async ({ signal, onText }) => {
      // Owned from the start, so a story whose opening fails is still its creator's alone.
      const { story, opening } = await createStory(ctx.runtime.deps, input, {
        signal,
        ownerId: request.user.id,
        ...(onText ? { onText } : {}),
        ...(idempotency ? { idempotency } : {}),
      });
      return { story: toStoryJson(story), scene: opening.scene };
    });
  });

  app.get('/api/stories', async (request) => {
    const storyIds = request.user.unrestricted ? undefined : await listVisibleStoryIds(db, request.user.id);
    const stories = await listStories(db, { limit: 100, ...(storyIds ? { storyIds } : {}) });
    return { stories: stories.map(toStoryJson) };
  });

  app.get('/api/stories/:id', async (request) => {
    const { id } = parseInput(idParams, request.params, 'params');
    const query = parseInput(thoughtsQuery, request.query, 'query');
    const role = await authorizeStory(db, request.user, id, 'read');
    const story = await getStory(db, id);
    const scene = story.headSceneId ? await getSceneView(db, id, story.headSceneId) : null;
    const thoughts = wantsThoughts(query) && scene ? await sceneThoughts(db, id, scene.id) : undefined;
    return { story: toStoryJson(story), scene, role, ...(thoughts ? { thoughts } : {}) };
  });
}
