import type { FastifyRequest } from 'fastify';
import { hashRequest, parseIdempotencyKey, type IdempotencyClaim } from '../idempotency/index.js';
import { idempotencyKeyOf } from './routes/route-inputs.js';

/**
 * The claim of a keyed write request: the key belongs to the signed-in user, and the hash
 * covers the route, its ids, query, If-Match and body, so the same key on anything else is 422.
 */
export function idempotencyClaimOf(request: FastifyRequest): IdempotencyClaim | undefined {
  const key = parseIdempotencyKey(idempotencyKeyOf(request));
  if (key === null) return undefined;
  return {
    scope: `user:${request.user.id}`,
    key,
    requestHash: hashRequest(request.method, request.routeOptions.url, request.params, request.query, request.headers['if-match'] ?? null, request.body),
  };
}
