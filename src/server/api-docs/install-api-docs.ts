import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import { z } from 'zod';
import { packageVersion } from '../../package-root.js';
import { describeRoute, errorBodySchemaId, errorBodyShape, jsonSchemaOf } from './describe-route.js';

export const openApiPath = '/api/openapi.json';

/**
 * Describes the HTTP API as an OpenAPI 3.1 document built from the routes' own schemas, served
 * at GET /api/openapi.json. Registered before the routes, so that each is seen as it is added.
 * The schemas describe and do not act: input is checked by each route's zod schema (parseInput,
 * with the error body clients know) and answers are written as the routes make them.
 */
export async function installApiDocs(app: FastifyInstance): Promise<void> {
  app.setValidatorCompiler(() => (value) => ({ value }));
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.addSchema({ $id: errorBodySchemaId, ...jsonSchemaOf(errorBodyShape, 'output') });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'LivingWorld HTTP API',
        version: packageVersion,
        description: 'Interactive stories with persistent characters. Every error answer is an ErrorBody; writes take an optional Idempotency-Key header.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A token from `livingworld token create --user NAME`' } } },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `schema-${i}`) },
  });
  app.get(
    openApiPath,
    {
      schema: describeRoute({
        summary: 'This document: the HTTP API as OpenAPI 3.1',
        tags: ['operations'],
        answers: { 200: { description: 'The OpenAPI 3.1 document', shape: z.looseObject({ openapi: z.string(), paths: z.record(z.string(), z.unknown()) }) } },
        errors: [],
      }),
    },
    async () => app.swagger(),
  );
}
