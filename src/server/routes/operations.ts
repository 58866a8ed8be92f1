import type { FastifyInstance } from 'fastify';
import { backgroundJobs, metricsRegistry, poolConnections } from '../../metrics.js';
import { countJobs, jobKinds } from '../../jobs/index.js';
import { pendingMigrations } from '../../db/index.js';
import type { ServerContext } from '../server-context.js';
import { describeRoute } from '../api-docs/describe-route.js';
import { infoShape, statusShape } from '../api-docs/answer-shapes.js';

const docs = {
  health: describeRoute({ summary: 'Liveness: the process answers', tags: ['operations'], public: true, answers: { 200: { description: 'Alive', shape: statusShape } }, errors: [] }),
  ready: describeRoute({
    summary: 'Readiness: the database answers and no migration is pending',
    tags: ['operations'],
    public: true,
    answers: { 200: { description: 'Ready', shape: statusShape }, 503: { description: 'Not ready: shutting down, migrations pending or the database unreachable', shape: statusShape } },
    errors: [],
  }),
  metrics: describeRoute({ summary: 'Prometheus metrics', tags: ['operations'], public: true, answers: { 200: { description: 'Metrics', media: { 'text/plain': 'Prometheus text format' } } }, errors: [] }),
  info: describeRoute({
    summary: 'The storyteller in use and who is signed in',
    tags: ['operations'],
    answers: { 200: { description: 'Server information', shape: infoShape } },
    errors: [],
  }),
};

/** Liveness, readiness and Prometheus metrics; outside /api, so they need no token. */
export function registerOperationRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { db } = ctx.runtime;

  app.get('/healthz', { schema: docs.health }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: docs.ready }, async (request, reply) => {
    if (ctx.state.shuttingDown) return reply.status(503).send({ status: 'shutting down' });
    try {
      await db.query('SELECT 1');
      const pending = await pendingMigrations(db);
      if (pending.length > 0) return reply.status(503).send({ status: 'migrations pending', pending });
      return { status: 'ready' };
    } catch (error) {
      request.log.warn({ err: error }, 'readiness check failed');
      return reply.status(503).send({ status: 'database unreachable' });
    }
  });

  app.get('/metrics', { schema: docs.metrics }, async (_request, reply) => {
    const pool = db.poolStats();
    poolConnections.set({ state: 'total' }, pool.total);
    poolConnections.set({ state: 'idle' }, pool.idle);
    poolConnections.set({ state: 'waiting' }, pool.waiting);
    // Jobs live in the database: every process reports the same figures, whoever ran them.
    const jobs = await countJobs(db).catch(() => undefined);
    if (jobs) {
      for (const kind of jobKinds) for (const status of ['queued', 'running', 'failed', 'done'] as const) backgroundJobs.set({ kind, status }, 0);
      for (const row of jobs) backgroundJobs.set({ kind: row.kind, status: row.status }, row.count);
    }
    return reply.type(metricsRegistry.contentType).send(await metricsRegistry.metrics());
  });

  /** What the UI shows about the storyteller and who is signed in. */
  app.get('/api/info', { schema: docs.info }, async (request) => ({
    provider: ctx.runtime.providerDescription,
    offline: ctx.runtime.deps.provider.offline,
    notice: ctx.runtime.providerNotice ?? null,
    user: { name: request.user.name },
    auth: await ctx.auth.isRequired(),
  }));
}
