import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import { installErrorResponses } from './error-response.js';
import { installRateLimits } from './rate-limits.js';
import { eventStreamClients, httpRequests } from './http-metrics.js';
import type { RequestUser } from './auth.js';
import type { ServerContext } from './server-context.js';
import { registerStoryRoutes } from './routes/stories.js';
import { registerTurnRoutes } from './routes/turns.js';
import { registerSceneRoutes } from './routes/scenes.js';
import { registerCharacterRoutes } from './routes/characters.js';
import { registerMemberRoutes } from './routes/members.js';
import { registerEventRoutes } from './routes/events.js';
import { registerIoRoutes } from './routes/io.js';
import { registerOperationRoutes } from './routes/operations.js';
import { registerLoreRoutes } from './routes/lore.js';
import { registerCardRoutes } from './routes/cards.js';
import { installApiDocs } from './api-docs/install-api-docs.js';
import { packagePath } from '../package-root.js';

export const webDir = packagePath('web');

const requestIdPattern = /^[A-Za-z0-9._:-]{1,64}$/;

/** The whole HTTP surface: API, live events, web UI and operations, over one server context. */
export async function buildApp(ctx: ServerContext): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.runtime.log.child({ component: 'http' }) as FastifyBaseLogger,
    bodyLimit: ctx.config.bodyLimitBytes,
    // A caller's x-request-id is kept when it is sane (a proxy's id ties the logs together), else one is made.
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID();
    },
    // New requests during shutdown get our own 503 shutting_down (with Retry-After) instead.
    return503OnClosing: false,
  });
  app.decorateRequest('user', null as unknown as RequestUser);
  // First of all hooks: a stopping server refuses before authenticating or counting rate limits.
  ctx.requests.install(app);

  installErrorResponses(app);
  await installApiDocs(app);
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        // blob: for characters' pictures, fetched with the token and shown from memory.
        imgSrc: ["'self'", 'data:', 'blob:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    // Plain HTTP on a LAN is a supported setup; do not pin browsers to HTTPS.
    strictTransportSecurity: false,
  });
  await installRateLimits(app, ctx.runtime.db);

  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
    if (request.url.startsWith('/api/') || request.url === '/api') request.user = await ctx.auth.authenticate(request);
  });
  // While shutting down, answers close their connection so that keep-alive does not hold the exit.
  app.addHook('onSend', async (_request, reply) => {
    if (ctx.state.shuttingDown) void reply.header('connection', 'close');
  });
  app.addHook('onResponse', async (request, reply) => {
    httpRequests.inc({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) });
    eventStreamClients.set(ctx.eventStreams.size);
  });

  registerOperationRoutes(app, ctx);
  registerStoryRoutes(app, ctx);
  registerTurnRoutes(app, ctx);
  registerSceneRoutes(app, ctx);
  registerCharacterRoutes(app, ctx);
  registerMemberRoutes(app, ctx);
  registerEventRoutes(app, ctx);
  registerIoRoutes(app, ctx);
  registerLoreRoutes(app, ctx);
  registerCardRoutes(app, ctx);
  await app.register(fastifyStatic, { root: webDir, prefix: '/', index: 'index.html', maxAge: 0 });
  return app;
}
