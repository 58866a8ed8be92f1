import type { FastifyInstance, FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { AppError } from '../errors.js';
import type { ServerConfig } from './server-config.js';
import type { Queryable } from '../db/index.js';
import { postgresRateLimitStore } from './postgres-rate-limit-store.js';

/**
 * Per-user limit on requests that make the model write (new stories, turns, regenerations,
 * talk): they share one budget per user, across server processes. Runs after authentication
 * (preHandler), so the key is the user, not the address.
 */
export async function installRateLimits(app: FastifyInstance, db: Queryable): Promise<void> {
  await app.register(rateLimit, {
    global: false,
    // Counted in the database: several server processes share one budget per user.
    store: postgresRateLimitStore(db),
    hook: 'preHandler',
    keyGenerator: (request: FastifyRequest) => `user:${request.user?.id ?? request.ip}`,
    errorResponseBuilder: (_request, context) =>
      new AppError('rate_limited', `Too many scenes requested; try again in ${context.after}.`, { details: { retryAfter: context.after } }),
  });
}

export function writingRateLimit(config: ServerConfig) {
  return { rateLimit: { max: config.turnRateLimit, timeWindow: config.turnRateWindowMs, groupId: 'writing' } };
}
