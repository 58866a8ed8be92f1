import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { exportStoryFile, importStoryFile } from '../../io/index.js';
import { getStory } from '../../story/story-repo.js';
import { authorizeStory } from '../auth.js';
import { runIdempotent } from '../../idempotency/index.js';
import { idempotencyClaimOf } from '../idempotency-claim.js';
import { parseInput } from '../parse-input.js';
import type { ServerContext } from '../server-context.js';
import { idParams } from './route-inputs.js';
import { attachment } from './attachment.js';
import { describeRoute } from '../api-docs/describe-route.js';
import { storyImportShape } from '../api-docs/answer-shapes.js';

const exportQuery = z.object({
  format: z.enum(['json', 'md', 'twee'], { error: 'format must be json, md or twee' }).default('json'),
  withPrompts: z
    .enum(['true', 'false', '1', '0'], { error: 'withPrompts must be true or false' })
    .optional()
    .describe("include what the model was sent for each scene (JSON only; importing keeps them)"),
});
const importQuery = z.object({
  filename: z.string().max(200, 'filename is longer than 200 characters').optional(),
  duplicates: z.enum(['refuse', 'copy'], { error: 'duplicates must be refuse or copy' }).optional(),
});


const docs = {
  exportStory: describeRoute({
    summary: 'A story as a file: LivingWorld JSON (every branch), Markdown or Twee (the head path)',
    tags: ['files'],
    params: idParams,
    query: exportQuery,
    answers: { 200: { description: 'The file, as an attachment', media: { 'application/json': 'livingworld/1 archive', 'text/markdown': 'the head path as Markdown', 'text/plain': 'Twee 3' } } },
    errors: ['not_found'],
  }),
  importStory: describeRoute({
    summary: 'Import a story file (LivingWorld JSON or Markdown, Twee, Twine HTML, a Python LivingWorld export)',
    tags: ['files'],
    query: importQuery,
    body: { media: { 'application/octet-stream': 'the file; its format is told from its content' } },
    answers: { 201: { description: 'The imported story, with what was repaired or left out', shape: storyImportShape } },
    errors: ['payload_too_large', 'unprocessable', 'already_imported', 'idempotency_mismatch', 'embeddings_mismatch'],
  }),
};

export function registerIoRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { db } = ctx.runtime;

  app.get('/api/stories/:id/export', { schema: docs.exportStory }, async (request, reply) => {
    const { id } = parseInput(idParams, request.params, 'params');
    const { format, withPrompts } = parseInput(exportQuery, request.query, 'query');
    await authorizeStory(db, request.user, id, 'read');
    await getStory(db, id);
    const file = await exportStoryFile(db, id, format, { withPrompts: withPrompts === 'true' || withPrompts === '1' });
    return reply.type(file.mediaType).header('content-disposition', attachment(file.filename)).send(file.content);
  });

  // Imports read the raw bytes (the importer detects the format), with their own larger limit.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: ctx.config.importLimitBytes }, (_request, body, done) => done(null, body));
    scope.post('/api/import', { bodyLimit: ctx.config.importLimitBytes, schema: docs.importStory }, async (request, reply) => {
      const { filename, duplicates } = parseInput(importQuery, request.query, 'query');
      if (!Buffer.isBuffer(request.body) || request.body.length === 0) {
        throw new AppError('validation', 'Send the story file as the request body.', { details: { field: 'body' } });
      }
      // Owned by the importer in the same transaction that writes it.
      const claim = idempotencyClaimOf(request);
      const body = request.body;
      const result = await runIdempotent(db, claim, () =>
        importStoryFile(db, body, filename, { ownerId: request.user.id, ...(duplicates ? { duplicates } : {}), ...(claim ? { idempotency: claim } : {}) }),
      );
      const story = await getStory(db, result.storyId);
      return reply.status(201).send({ ...result, story: { id: story.id, title: story.title, headSceneId: story.headSceneId } });
    });
  });
}
