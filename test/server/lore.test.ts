import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from './test-server.js';

let database: TestServerDatabase;
let server: TestServer;
beforeAll(async () => {
  database = await createServerTestDatabase({ poolSize: 10 });
  server = await startTestServer(database.db);
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
});

describe('lore entries over HTTP', () => {
  it('creates, lists, edits at a version (412 when stale) and deletes entries', async () => {
    const created = await call(server.url, 'POST', '/api/stories', { title: 'Lore', setting: 'A harbour town in fog' });
    const storyId = created.body.story.id as string;

    const added = await call(server.url, 'POST', `/api/stories/${storyId}/lore`, { title: 'The Drowned Bell', content: 'It rings before storms.', keywords: ['bell'] });
    expect(added.status).toBe(201);
    const entry = added.body.entry as { id: string; version: number };
    expect(added.headers.get('etag')).toBe(`"${entry.version}"`);

    const listed = await call(server.url, 'GET', `/api/stories/${storyId}/lore`);
    expect(listed.body.entries.map((e: { title: string }) => e.title)).toEqual(['The Drowned Bell']);

    const edited = await call(server.url, 'PATCH', `/api/stories/${storyId}/lore/${entry.id}`, { content: 'It rang last night.' }, { 'if-match': `"${entry.version}"` });
    expect(edited.status).toBe(200);
    expect(edited.body.entry.content).toBe('It rang last night.');
    const stale = await call(server.url, 'PATCH', `/api/stories/${storyId}/lore/${entry.id}`, { title: 'Again' }, { 'if-match': `"${entry.version}"` });
    expect(stale.status).toBe(412);
    expect(stale.body.error.code).toBe('version_conflict');

    expect((await call(server.url, 'POST', `/api/stories/${storyId}/lore`, { title: '', content: 'x' })).body.error).toMatchObject({ code: 'validation', field: 'title' });
    expect((await call(server.url, 'PATCH', `/api/stories/${storyId}/lore/not-an-id`, { title: 'x' }, { 'if-match': '"1"' })).status).toBe(404);
    expect((await call(server.url, 'DELETE', `/api/stories/${storyId}/lore/${entry.id}`)).status).toBe(204);
    expect((await call(server.url, 'DELETE', `/api/stories/${storyId}/lore/${entry.id}`)).status).toBe(404);
  });
});
