import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { call, parseEventStream, startTestServer, type TestServer } from './test-server.js';
import { collectEvents } from './serve-process.js';

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

async function newStory(title = 'Salt and Lanterns') {
  const response = await call(server.url, 'POST', '/api/stories', { title, setting: 'A harbour town in fog; you are a new customs clerk.' });
  expect(response.status).toBe(201);
  return response.body as { story: { id: string; headSceneId: string }; scene: { id: string; choices: unknown[] } };
}

describe('HTTP API contract', () => {
  it('creates a story: 201 with the story and its opening scene with choices', async () => {
    const { story, scene } = await newStory();
    expect(story).toMatchObject({ title: 'Salt and Lanterns', status: 'active', version: 1, headSceneId: scene.id });
    expect(scene).toMatchObject({ sceneNumber: 1, parentSceneId: null, offline: true });
    expect(scene.choices).toHaveLength(3);
    const list = await call(server.url, 'GET', '/api/stories');
    expect(list.body.stories.map((s: { id: string }) => s.id)).toContain(story.id);
    const one = await call(server.url, 'GET', `/api/stories/${story.id}`);
    expect(one.body).toMatchObject({ story: { id: story.id }, scene: { id: scene.id }, role: 'owner' });
    expect(one.body.thoughts).toBeUndefined();
  });

  it('answers bad input with 400 naming the field, and bad JSON with 400', async () => {
    const missing = await call(server.url, 'POST', '/api/stories', { setting: 'x' });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({ code: 'validation', field: 'title' });
    const wrongType = await call(server.url, 'POST', '/api/stories', { title: 'T', setting: 42 });
    expect(wrongType.body.error).toMatchObject({ code: 'validation', field: 'setting' });
    const notObject = await call(server.url, 'POST', '/api/stories', '[1,2]');
    expect(notObject.status).toBe(400);
    const badJson = await call(server.url, 'POST', '/api/stories', '{"title": ');
    expect(badJson.status).toBe(400);
    expect(badJson.body.error.code).toBe('validation');
    const { story } = await newStory();
    const badChoice = await call(server.url, 'POST', `/api/stories/${story.id}/turns`, { choice: 'two' });
    expect(badChoice.body.error).toMatchObject({ code: 'validation', field: 'choice' });
    const badFrom = await call(server.url, 'POST', `/api/stories/${story.id}/turns`, { choice: 1, fromSceneId: 'nope' });
    expect(badFrom.body.error).toMatchObject({ code: 'validation', field: 'fromSceneId' });
    const badKey = await call(server.url, 'POST', `/api/stories/${story.id}/turns`, { choice: 1 }, { 'idempotency-key': 'x'.repeat(300) });
    expect(badKey.body.error).toMatchObject({ code: 'validation', field: 'idempotencyKey' });
    const big = await call(server.url, 'POST', '/api/stories', { title: 'T', setting: 'x'.repeat(2 * 1024 * 1024) });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('payload_too_large');
  });

  it('takes a turn (201), replays an Idempotency-Key, and answers a stale fromSceneId with 409 carrying the head', async () => {
    const { story, scene } = await newStory();
    const first = await call(server.url, 'POST', `/api/stories/${story.id}/turns`, { choice: 2, fromSceneId: scene.id }, { 'idempotency-key': 'click-1' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ how: 'generated', scene: { sceneNumber: 2, parentSceneId: scene.id, choiceNumber: 2 } });
    const again = await call(server.url, 'POST', `/api/stories/${story.id}/turns`, { choice: 2, fromSceneId: scene.id }, { 'idempotency-key': 'click-1' });
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ how: 'replayed', scene: { id: first.body.scene.id } });
    const stale = await call(server.url, 'POST', `/api/stories/${story.id}/turns`, { choice: 3, fromSceneId: scene.id, instruction: 'look around' });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: 'turn_conflict', headSceneId: first.body.scene.id, head: { id: first.body.scene.id } });
    const mismatch = await call(server.url, 'POST', `/api/stories/${story.id}/turns`, { choice: 1 }, { 'idempotency-key': 'click-1' });
    expect(mismatch.status).toBe(422);
  });

  it('regenerates, undoes, rewinds, and shows the scene tree', async () => {
    const { story, scene: opening } = await newStory();
    const second = (await call(server.url, 'POST', `/api/stories/${story.id}/turns`, { choice: 1 })).body.scene;
    const regenerated = await call(server.url, 'POST', `/api/stories/${story.id}/regenerate`, { fromSceneId: second.id });
    expect(regenerated.status).toBe(201);
    expect(regenerated.body.scene).toMatchObject({ parentSceneId: opening.id, sceneNumber: 2 });
    expect(regenerated.body.scene.id).not.toBe(second.id);
    const tree = await call(server.url, 'GET', `/api/stories/${story.id}/scenes`);
    expect(tree.body.scenes).toHaveLength(3);
    expect(tree.body.headSceneId).toBe(regenerated.body.scene.id);
    expect(tree.body.scenes.filter((s: { onHeadPath: boolean }) => s.onHeadPath)).toHaveLength(2);
    const undone = await call(server.url, 'POST', `/api/stories/${story.id}/undo`);
    expect(undone.status).toBe(200);
    expect(undone.body.scene.id).toBe(opening.id);
    const nothingLeft = await call(server.url, 'POST', `/api/stories/${story.id}/undo`, {});
    expect(nothingLeft.status).toBe(400);
    const rewound = await call(server.url, 'POST', `/api/stories/${story.id}/rewind`, { toSceneId: second.id });
    expect(rewound.body.scene.id).toBe(second.id);
    const badTarget = await call(server.url, 'POST', `/api/stories/${story.id}/rewind`, { toSceneId: 12 });
    expect(badTarget.body.error).toMatchObject({ code: 'validation', field: 'toSceneId' });
  });

  it('edits a character with If-Match: 200 with a new ETag, 412 on a stale version, 400 without the header', async () => {
    const { story } = await newStory();
    const { characters } = (await call(server.url, 'GET', `/api/stories/${story.id}/characters`)).body;
    expect(characters.length).toBeGreaterThan(0);
    const id = characters[0].id as string;
    const detail = await call(server.url, 'GET', `/api/characters/${id}`);
    expect(detail.status).toBe(200);
    const etag = detail.headers.get('etag')!;
    expect(etag).toBe(`"${detail.body.character.version}"`);
    const edited = await call(server.url, 'PATCH', `/api/characters/${id}`, { mood: 'amused' }, { 'if-match': etag });
    expect(edited.status).toBe(200);
    expect(edited.body.character.mood).toBe('amused');
    const stale = await call(server.url, 'PATCH', `/api/characters/${id}`, { mood: 'cross' }, { 'if-match': etag });
    expect(stale.status).toBe(412);
    expect(stale.body.error.code).toBe('version_conflict');
    const noHeader = await call(server.url, 'PATCH', `/api/characters/${id}`, { mood: 'cross' });
    expect(noHeader.body.error).toMatchObject({ code: 'validation', field: 'If-Match' });
    const unknownField = await call(server.url, 'PATCH', `/api/characters/${id}`, { version: 99 }, { 'if-match': edited.headers.get('etag')! });
    expect(unknownField.status).toBe(400);
    expect((await call(server.url, 'GET', '/api/characters/not-an-id')).status).toBe(404);
    const talk = await call(server.url, 'POST', `/api/characters/${id}/talk`, { message: 'What happened to the boats?' });
    expect(talk.status).toBe(200);
    expect(typeof talk.body.reply).toBe('string');
  });

  it('shows thoughts only with ?thoughts=1', async () => {
    const { story } = await newStory();
    const withThoughts = await call(server.url, 'GET', `/api/stories/${story.id}?thoughts=1`);
    expect(Array.isArray(withThoughts.body.thoughts)).toBe(true);
    const characters = await call(server.url, 'GET', `/api/stories/${story.id}/characters?thoughts=1`);
    expect(characters.body.characters.every((c: { thoughts?: unknown }) => Array.isArray(c.thoughts))).toBe(true);
    const without = await call(server.url, 'GET', `/api/stories/${story.id}/characters`);
    expect(without.body.characters.every((c: { thoughts?: unknown }) => c.thoughts === undefined)).toBe(true);
    expect((await call(server.url, 'GET', `/api/stories/${story.id}?thoughts=maybe`)).status).toBe(400);
  });

  it('streams a turn as server-sent events: text chunks, then the scene', async () => {
    const { story, scene } = await newStory();
    const response = await fetch(`${server.url}/api/stories/${story.id}/turns`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ choice: 1, fromSceneId: scene.id }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    const events = parseEventStream(await response.text());
    const texts = events.filter((e) => e.event === 'text');
    expect(texts.length).toBeGreaterThan(3);
    const last = events.at(-1)!;
    expect(last.event).toBe('scene');
    expect(texts.map((e) => e.data.text).join('')).toBe(last.data.scene.content);
    // A stale turn streams an error event carrying the head.
    const stale = await fetch(`${server.url}/api/stories/${story.id}/turns`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ choice: 2, fromSceneId: scene.id }),
    });
    const staleEvents = parseEventStream(await stale.text());
    expect(staleEvents.at(-1)).toMatchObject({ event: 'error', data: { status: 409, error: { code: 'turn_conflict', head: { id: last.data.scene.id } } } });
  });

  it('relays story events to watchers: ready, then scene and turn events with the scene', async () => {
    const { story } = await newStory();
    const watcher = collectEvents(`${server.url}/api/stories/${story.id}/events`);
    try {
      await watcher.waitFor((e) => e.event === 'ready');
      const turn = await call(server.url, 'POST', `/api/stories/${story.id}/turns`, { choice: 3 });
      const scene = await watcher.waitFor((e) => e.event === 'scene');
      expect(scene.data).toMatchObject({ type: 'scene', storyId: story.id, sceneId: turn.body.scene.id, scene: { id: turn.body.scene.id } });
      await watcher.waitFor((e) => e.event === 'turn');
      await call(server.url, 'POST', `/api/stories/${story.id}/undo`, {});
      await watcher.waitFor((e) => e.event === 'head');
    } finally {
      await watcher.stop();
    }
  });

  it('keeps idle event streams alive with heartbeat comments', async () => {
    const { story } = await newStory();
    const controller = new AbortController();
    const response = await fetch(`${server.url}/api/stories/${story.id}/events`, { signal: controller.signal });
    const reader = response.body!.getReader();
    let text = '';
    const deadline = Date.now() + 5_000;
    while (!text.includes(': heartbeat') && Date.now() < deadline) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    // The test server beats every 200 ms (LIVINGWORLD_SSE_HEARTBEAT_MS); the default is 15 s.
    expect(text).toMatch(/^retry: \d+\n\n/);
    expect(text).toContain('event: ready\n');
    expect(text).toContain(': heartbeat\n\n');
  });

  it('exports and imports stories', async () => {
    const { story } = await newStory('Export me');
    const md = await fetch(`${server.url}/api/stories/${story.id}/export?format=md`);
    expect(md.status).toBe(200);
    expect(md.headers.get('content-type')).toContain('text/markdown');
    expect(md.headers.get('content-disposition')).toContain('attachment');
    const json = await fetch(`${server.url}/api/stories/${story.id}/export?format=json`);
    const archive = await json.text();
    const imported = await call(server.url, 'POST', '/api/import', archive);
    expect(imported.status).toBe(201);
    expect(imported.body.story.title).toBe('Export me');
    expect((await call(server.url, 'GET', `/api/stories/${story.id}/export?format=pdf`)).body.error.field).toBe('format');
    expect((await call(server.url, 'POST', '/api/import', 'not a story')).status).toBeLessThan(500);
  });

  it('answers unknown stories, routes and methods with 404 and the error body', async () => {
    for (const path of ['/api/stories/00000000-0000-0000-0000-000000000000', '/api/stories/abc', '/api/stories/abc/scenes', '/api/nothing']) {
      const response = await call(server.url, 'GET', path);
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('not_found');
    }
    expect((await call(server.url, 'POST', '/api/stories/abc/turns', { choice: 1 })).status).toBe(404);
  });

  it('serves operations endpoints and request ids', async () => {
    expect((await call(server.url, 'GET', '/healthz')).status).toBe(200);
    expect((await call(server.url, 'GET', '/readyz')).body).toEqual({ status: 'ready' });
    const metrics = await fetch(`${server.url}/metrics`);
    const text = await metrics.text();
    expect(text).toContain('livingworld_pool_connections{state="total"}');
    expect(text).toContain('livingworld_http_requests_total');
    const traced = await call(server.url, 'GET', '/api/info', undefined, { 'x-request-id': 'trace-123' });
    expect(traced.headers.get('x-request-id')).toBe('trace-123');
    expect(traced.body).toMatchObject({ offline: true, auth: false, user: { name: 'local' } });
    // A database behind the code is not ready.
    const { rows } = await database.db.query<{ name: string }>('DELETE FROM schema_migrations WHERE version = 3 RETURNING name');
    try {
      const pending = await call(server.url, 'GET', '/readyz');
      expect(pending.status).toBe(503);
      expect(pending.body).toEqual({ status: 'migrations pending', pending: ['0003_access'] });
    } finally {
      await database.db.query('INSERT INTO schema_migrations (version, name) VALUES (3, $1)', [rows[0]!.name]);
    }
    const index = await fetch(`${server.url}/`);
    expect(await index.text()).toContain('<script type="module" src="/app.js">');
  });
});
