import type { FastifySchema } from 'fastify';
import { z } from 'zod';
import { errorCodes, type ErrorCode } from '../../errors.js';

/** The id under which the error body is shared by every route's description. */
export const errorBodySchemaId = 'ErrorBody';

/** `{"error": {"code", "message", ...details}}`, as every error answer is written (error-response.ts). */
export const errorBodyShape = z
  .object({
    error: z
      .looseObject({
        code: z.enum(Object.keys(errorCodes) as [ErrorCode, ...ErrorCode[]]).describe('stable machine-readable code (never renamed)'),
        message: z.string().describe('what went wrong and what to do, for a person'),
        field: z.string().optional().describe('on validation errors: the input field at fault'),
      })
      .describe('the error; further details vary by code'),
  })
  .describe('An error answer');

/** JSON Schema (2020-12, as OpenAPI 3.1 reads it) of a zod schema; `io` says which side of transforms. */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any', reused: 'inline' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

/** Something other than JSON (a file, an image, an event stream), as a response or a body. */
export interface MediaBody {
  /** media type → what it holds */
  media: Record<string, string>;
}

type Answer = { description: string } & ({ shape: z.ZodType } | MediaBody | { empty: true });

export interface RouteDescription {
  summary: string;
  description?: string;
  tags: string[];
  params?: z.ZodType;
  query?: z.ZodType;
  /** A JSON body (its zod schema), or raw bytes of the given media types. */
  body?: z.ZodType | MediaBody;
  /** The answers that are not errors, by status. */
  answers: Record<number, Answer>;
  /** The error codes this route can answer with; those every route can meet are added. */
  errors: ErrorCode[];
  /** /api routes may need a token; the operations routes do not. */
  public?: boolean;
  /** A turn route: `Accept: text/event-stream` streams the scene's prose before the answer. */
  streams?: boolean;
}

const binary = (what: string) => ({ type: 'string', contentMediaType: 'application/octet-stream', description: what });
const errorRef = { $ref: `${errorBodySchemaId}#` };
/** A file answer: JSON files are objects, text is text, anything else bytes. */
const mediaSchema = (type: string, what: string) =>
  type.endsWith('json') ? { type: 'object', description: what } : type.startsWith('text/') ? { type: 'string', description: what } : binary(what);
const turnEvents =
  'With `Accept: text/event-stream` the answer is a stream of events instead: `text` ({text}) pieces of prose as written, ' +
  '`thinking` ({active}) while a reasoning model thinks, then `scene` with the JSON answer, or `error` with an error body and its status.';

/**
 * A route's schema for the OpenAPI document, made from the same zod schemas the route parses
 * its input with. Fastify does not validate with it (parseInput does, for the error shape
 * every client knows); it describes.
 */
export function describeRoute(route: RouteDescription): FastifySchema {
  const response: Record<string, unknown> = {};
  for (const [status, answer] of Object.entries(route.answers)) {
    if ('shape' in answer) {
      const schema = jsonSchemaOf(answer.shape, 'output');
      response[status] = route.streams
        ? {
            description: `${answer.description}. ${turnEvents}`,
            content: { 'application/json': { schema }, 'text/event-stream': { schema: { type: 'string', description: 'server-sent events' } } },
          }
        : { ...schema, description: answer.description };
    } else if ('media' in answer) {
      response[status] = {
        description: answer.description,
        content: Object.fromEntries(Object.entries(answer.media).map(([type, what]) => [type, { schema: mediaSchema(type, what) }])),
      };
    } else response[status] = { type: 'null', description: answer.description };
  }
  const codes = new Set<ErrorCode>([...route.errors, 'internal', 'database_unavailable', 'database_busy']);
  if (!route.public) codes.add('unauthorized');
  if (route.params || route.query || route.body) codes.add('validation');
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(errorCodes[code].status, [...(byStatus.get(errorCodes[code].status) ?? []), code]);
  for (const [status, statusCodes] of [...byStatus].sort(([a], [b]) => a - b)) {
    // A route that answers a status in a shape of its own (readiness's 503) is described by that.
    response[String(status)] ??= { description: `Error: ${statusCodes.join(', ')}`, ...errorRef };
  }

  const schema: Record<string, unknown> = { summary: route.summary, tags: route.tags, response };
  if (route.description) schema.description = route.description;
  if (route.params) schema.params = jsonSchemaOf(route.params, 'input');
  if (route.query) schema.querystring = jsonSchemaOf(route.query, 'input');
  if (route.body && 'media' in route.body) {
    schema.consumes = Object.keys(route.body.media);
    schema.body = binary(Object.values(route.body.media).join('; '));
  } else if (route.body) schema.body = jsonSchemaOf(route.body, 'input');
  // A token is needed once the server has any (or LIVINGWORLD_AUTH=required); until then none is.
  if (!route.public) schema.security = [{ bearer: [] }, {}];
  return schema as FastifySchema;
}
