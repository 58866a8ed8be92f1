import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { getStory } from '../../story/story-repo.js';
import { getSceneView } from '../../story/scene-view.js';
import { authorizeStory } from '../auth.js';
import { parseInput } from '../parse-input.js';
import { openSse } from '../sse.js';
import type { ServerContext } from '../server-context.js';
import type { RelayedEvent } from '../story-events-relay.js';
import { idParams, singleHeader } from './route-inputs.js';
import { describeRoute } from '../api-docs/describe-route.js';

const eventsQuery = z.object({ lastEventId: z.string().regex(/^\d{1,15}$/, 'lastEventId must be a story version').optional() });

/** Last-Event-ID (header, or `?lastEventId=` for clients that cannot set headers): the version the client last saw. */
function lastSeenVersion(header: string | string[] | undefined, query: string | undefined): number | undefined {
  const value = singleHeader(header) ?? query;
  return typeof value === 'string' && /^\d{1,15}$/.test(value.trim()) ? Number(value.trim()) : undefined;
}

const docs = {
  events: describeRoute({
    summary: "Live story events (server-sent events) from whichever process wrote them",
    description:
      '`ready` (the head when watching began), then `scene`, `head` and `turn`; scene, head and ready carry the story version as their id. ' +
      'A client that sends Last-Event-ID (or `?lastEventId=`), or a stream that may have missed events, gets `resync` with the current head first.',
    tags: ['stories'],
    params: idParams,
    query: eventsQuery,
    answers: { 200: { description: 'An event stream', media: { 'text/event-stream': 'server-sent events' } } },
    errors: ['not_found'],
  }),
};

export function registerEventRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { db } = ctx.runtime;

  /**
   * Live story events over SSE: `ready` (the head when watching began), then `scene`, `head`
   * (each with the scene) and `turn`, from whichever process wrote them. Scene, head and
   * ready events carry the story version as their id. A client that sends Last-Event-ID, or
   * a stream that may have missed events (a version skipped, LISTEN reconnected), gets a
   * `resync` event with the current head and version before any newer event.
   */
  app.get('/api/stories/:id/events', { schema: docs.events }, async (request, reply) => {
    const { id } = parseInput(idParams, request.params, 'params');
    const query = parseInput(eventsQuery, request.query, 'query');
    await authorizeStory(db, request.user, id, 'read');
    // HEAD (fastify answers it with this GET handler) must not hold a stream open.
    if (request.method === 'HEAD') {
      await getStory(db, id);
      return reply.type('text/event-stream; charset=utf-8').send();
    }
    const lastSeen = lastSeenVersion(request.headers['last-event-id'], query.lastEventId);
    const story = await getStory(db, id);
    const stream = openSse(request, reply, { heartbeatMs: ctx.config.sseHeartbeatMs });
    ctx.eventStreams.add(stream);

    // The version this stream has brought its client up to; events at or below it are old news.
    let shownVersion = story.version;
    let resyncing: Promise<void> | undefined;
    const resync = () => {
      resyncing ??= (async () => {
        try {
          const current = await getStory(db, id);
          if (current.version <= shownVersion) return;
          shownVersion = current.version;
          const scene = current.headSceneId ? await getSceneView(db, id, current.headSceneId) : null;
          stream.send('resync', { type: 'resync', storyId: id, headSceneId: current.headSceneId, version: current.version, scene }, current.version);
        } catch (error) {
          request.log.warn({ err: error, storyId: id }, 'could not resync an event stream; ending it so the client reconnects');
          stream.close();
        } finally {
          resyncing = undefined;
        }
      })();
      return resyncing;
    };
    const deliver = (event: RelayedEvent) => {
      if (event.type === 'turn') {
        stream.send(event.type, event);
        return;
      }
      if (event.version <= shownVersion) return;
      // A version skipped means an event this stream never heard: catch up from the table.
      if (event.version > shownVersion + 1) {
        void resync();
        return;
      }
      shownVersion = event.version;
      stream.send(event.type, event, event.version);
    };
    // Subscribed before `ready` is sent: whatever commits after `ready` reaches this client.
    const unsubscribe = ctx.relay.subscribe(id, deliver, () => void resync());
    stream.onClose(unsubscribe);
    if (lastSeen !== undefined && lastSeen < story.version) {
      // The client was behind: `ready` names where it was, the resync brings it to the head.
      shownVersion = lastSeen;
      stream.send('ready', { storyId: id, headSceneId: story.headSceneId, version: story.version });
      await resync();
    } else {
      stream.send('ready', { storyId: id, headSceneId: story.headSceneId, version: story.version }, story.version);
    }
    return reply;
  });
}
