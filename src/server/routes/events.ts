import type { FastifyInstance } from 'fastify';
import { getStory } from '../../story/story-repo.js';
import { authorizeStory } from '../auth.js';
import { parseInput } from '../parse-input.js';
import { openSse } from '../sse.js';
import type { ServerContext } from '../server-context.js';
import { idParams } from './route-inputs.js';

export function registerEventRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { db } = ctx.runtime;

  /**
   * Live story events over SSE: `ready` (the head when watching began), then `scene`, `head`
   * (each with the scene) and `turn`, from whichever process wrote them.
   */
  app.get('/api/stories/:id/events', async (request, reply) => {
    const { id } = parseInput(idParams, request.params, 'params');
    await authorizeStory(db, request.user, id, 'read');
    const story = await getStory(db, id);
    // HEAD (fastify answers it with this GET handler) must not hold a stream open.
    if (request.method === 'HEAD') return reply.type('text/event-stream; charset=utf-8').send();
    const stream = openSse(request, reply, { heartbeatMs: ctx.config.sseHeartbeatMs });
    ctx.eventStreams.add(stream);
    // Subscribed before `ready` is sent: whatever commits after `ready` reaches this client.
    const unsubscribe = ctx.relay.subscribe(id, (event) => stream.send(event.type, event));
    stream.onClose(unsubscribe);
    stream.send('ready', { storyId: id, headSceneId: story.headSceneId, version: story.version });
    return reply;
  });
}
