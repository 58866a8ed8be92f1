import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { addLoreEntry, editLoreEntry } from '../../memory/edit-lore.js';
import { deleteLoreEntry, listLoreEntries, type LoreEntry } from '../../memory/lore-repo.js';
import { loreOptionsInput } from '../../memory/lore-options.js';
import { exportLorebook } from '../../io/export-lorebook.js';
import { importLorebook } from '../../io/import-lorebook.js';
import { attachment } from './attachment.js';
import { AppError } from '../../errors.js';
import { isUuid } from '../../story/story-repo.js';
import { authorizeStory } from '../auth.js';
import { idempotentTransaction, runIdempotent } from '../../idempotency/index.js';
import { idempotencyClaimOf } from '../idempotency-claim.js';
import { parseInput } from '../parse-input.js';
import type { ServerContext } from '../server-context.js';
import { idParams, parseIfMatch } from './route-inputs.js';
import { describeRoute } from '../api-docs/describe-route.js';
import { loreEntryAnswerShape, loreImportShape, loreListShape } from '../api-docs/answer-shapes.js';

const keywords = z.array(z.string({ error: 'keywords must be text' }).max(400, 'a keyword is longer than 400 characters'), { error: 'keywords must be a list' }).max(100, 'at most 100 keywords');
const title = z.string({ error: 'title must be text' }).trim().min(1, 'title must not be empty').max(200, 'title is longer than 200 characters');
const content = z.string({ error: 'content must be text' }).trim().min(1, 'content must not be empty').max(8000, 'content is longer than 8000 characters');
const enabled = z.boolean({ error: 'enabled must be true or false' });
const newEntryBody = z.object({ title, content, keywords: keywords.optional(), enabled: enabled.optional(), ...loreOptionsInput.shape });
const patchEntryBody = z.strictObject({ title: title.optional(), content: content.optional(), keywords: keywords.optional(), enabled: enabled.optional(), ...loreOptionsInput.shape });
const entryParams = idParams.extend({ entryId: z.string().max(100, 'the id is too long') });

function sendEntry(entry: LoreEntry) {
  return { entry };
}

/** A malformed entry id is simply not found (and never reaches SQL as a cast error). */
function knownEntryId(entryId: string): string {
  if (!isUuid(entryId)) throw new AppError('not_found', `No lore entry with id ${entryId}.`);
  return entryId;
}

const docs = {
  list: describeRoute({ summary: "The story's lore entries (world info)", tags: ['lore'], params: idParams, answers: { 200: { description: 'Entries', shape: loreListShape } }, errors: ['not_found'] }),
  add: describeRoute({
    summary: 'Add a lore entry',
    tags: ['lore'],
    params: idParams,
    body: newEntryBody,
    answers: { 201: { description: 'The entry; ETag carries its version', shape: loreEntryAnswerShape } },
    errors: ['not_found', 'forbidden', 'idempotency_mismatch'],
  }),
  edit: describeRoute({
    summary: 'Edit a lore entry',
    description: 'Send If-Match with the version edited (from the ETag or the version field).',
    tags: ['lore'],
    params: entryParams,
    body: patchEntryBody,
    answers: { 200: { description: 'The entry as edited', shape: loreEntryAnswerShape } },
    errors: ['not_found', 'forbidden', 'version_conflict', 'idempotency_mismatch'],
  }),
  exportBook: describeRoute({
    summary: "The story's lore as a SillyTavern World Info file",
    tags: ['lore'],
    params: idParams,
    answers: { 200: { description: 'World Info JSON, as an attachment', media: { 'application/json': 'World Info JSON' } } },
    errors: ['not_found'],
  }),
  importBook: describeRoute({
    summary: 'Add the entries of a World Info file (SillyTavern, a card book) to the story',
    tags: ['lore'],
    params: idParams,
    body: { media: { 'application/octet-stream': 'World Info JSON' } },
    answers: { 201: { description: 'The entries made, with notes on what was changed', shape: loreImportShape } },
    errors: ['not_found', 'forbidden', 'payload_too_large', 'unprocessable'],
  }),
  remove: describeRoute({ summary: 'Delete a lore entry', tags: ['lore'], params: entryParams, answers: { 204: { description: 'Deleted', empty: true } }, errors: ['not_found', 'forbidden', 'idempotency_mismatch'] }),
};

/** Lore entries (world info) of a story: read by readers, edited by players. */
export function registerLoreRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { db } = ctx.runtime;
  const deps = { db, embedder: ctx.runtime.deps.embedder };

  app.get('/api/stories/:id/lore', { schema: docs.list }, async (request) => {
    const { id } = parseInput(idParams, request.params, 'params');
    await authorizeStory(db, request.user, id, 'read');
    return { entries: await listLoreEntries(db, id) };
  });

  app.post('/api/stories/:id/lore', { schema: docs.add }, async (request, reply) => {
    const { id } = parseInput(idParams, request.params, 'params');
    await authorizeStory(db, request.user, id, 'play');
    const body = parseInput(newEntryBody, request.body);
    const claim = idempotencyClaimOf(request);
    const entry = await runIdempotent(db, claim, () => addLoreEntry(deps, { storyId: id, ...body }, claim));
    return reply.status(201).header('etag', `"${entry.version}"`).send(sendEntry(entry));
  });

  app.patch('/api/stories/:id/lore/:entryId', { schema: docs.edit }, async (request, reply) => {
    const { id, entryId } = parseInput(entryParams, request.params, 'params');
    await authorizeStory(db, request.user, id, 'play');
    const expectedVersion = parseIfMatch(request.headers['if-match']);
    const patch = parseInput(patchEntryBody, request.body);
    const claim = idempotencyClaimOf(request);
    const entry = await runIdempotent(db, claim, () => editLoreEntry(deps, { storyId: id, id: knownEntryId(entryId), expectedVersion, patch }, claim));
    return reply.header('etag', `"${entry.version}"`).send(sendEntry(entry));
  });

  app.get('/api/stories/:id/lore/export', { schema: docs.exportBook }, async (request, reply) => {
    const { id } = parseInput(idParams, request.params, 'params');
    await authorizeStory(db, request.user, id, 'read');
    const book = await exportLorebook(db, id);
    return reply.type('application/json').header('content-disposition', attachment(book.filename)).send(book.document);
  });

  // The body is read raw, so that a card, a PNG or broken JSON gets an answer naming it.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: ctx.config.importLimitBytes }, (_request, body, done) => done(null, body));
    scope.post('/api/stories/:id/lore/import', { bodyLimit: ctx.config.importLimitBytes, schema: docs.importBook }, async (request, reply) => {
      const { id } = parseInput(idParams, request.params, 'params');
      await authorizeStory(db, request.user, id, 'play');
      if (!Buffer.isBuffer(request.body) || request.body.length === 0) {
        throw new AppError('validation', 'Send the World Info JSON as the request body.', { details: { field: 'body' } });
      }
      const claim = idempotencyClaimOf(request);
      const content = request.body;
      const result = await runIdempotent(db, claim, () => importLorebook(deps, id, content, claim));
      return reply.status(201).send(result);
    });
  });

  app.delete('/api/stories/:id/lore/:entryId', { schema: docs.remove }, async (request, reply) => {
    const { id, entryId } = parseInput(entryParams, request.params, 'params');
    await authorizeStory(db, request.user, id, 'play');
    await idempotentTransaction(db, idempotencyClaimOf(request), (tx) => deleteLoreEntry(tx, id, knownEntryId(entryId)).then(() => null));
    return reply.status(204).send();
  });
}
