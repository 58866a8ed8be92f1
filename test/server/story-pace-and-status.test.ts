import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from './test-server.js';

let database: TestServerDatabase;
let server: TestServer;

beforeAll(async () => {
  database = await createServerTestDatabase({ poolSize: 6 });
  server = await startTestServer(database.db);
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
});

async function newStory() {
  const response = await call(server.url, 'POST', '/api/stories', { title: 'Paced', setting: 'A canal city at dusk; you ferry letters between rival houses.' });
  expect(response.status).toBe(201);
  return response.body as { story: { id: string; version: number }; scene: { id: string } };
}

/** Reads an event stream as it arrives, noting when each event came. */
async function readTimedEvents(response: Response): Promise<{ event: string; data: any; atMs: number }[]> {
  const started = performance.now();
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const events: { event: string; data: any; atMs: number }[] = [];
  let buffer = '';
  for (let reads = 0; reads < 10_000; reads++) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) events.push({ event, data: JSON.parse(data), atMs: performance.now() - started });
    }
  }
  return events;
}

describe('streaming pace and story status over HTTP', () => {
  it('releases an offline scene (written all at once) at the pace the reader asked for, losing no text', async () => {
    const { story, scene } = await newStory();
    const pace = 40;
    const response = await fetch(`${server.url}/api/stories/${story.id}/turns?pace=${pace}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ choice: 1, fromSceneId: scene.id }),
    });
    expect(response.status).toBe(200);
    const events = await readTimedEvents(response);
    const texts = events.filter((e) => e.event === 'text');
    const last = events.at(-1)!;
    expect(last.event).toBe('scene');
    const content: string = last.data.scene.content;
    expect(texts.map((e) => e.data.text).join('')).toBe(content);
    const words = content.split(/\s+/).filter(Boolean).length;
    // The provider has no latency, so only the pacing can spread the text over time.
    const spanMs = texts.at(-1)!.atMs - texts[0]!.atMs;
    expect(spanMs).toBeGreaterThanOrEqual(((words - 2) / pace) * 1000 * 0.9);
    expect(texts.length).toBeGreaterThan(words / 10);
    // Never more than a tick's worth of words in one event.
    expect(Math.max(...texts.map((e) => e.data.text.split(/\s+/).filter(Boolean).length))).toBeLessThanOrEqual(4);
  });

  it('refuses a bad pace with 400 naming it, before anything is written', async () => {
    const { story, scene } = await newStory();
    for (const pace of ['fast', '-1', '1000']) {
      const response = await call(server.url, 'POST', `/api/stories/${story.id}/turns?pace=${pace}`, { choice: 1, fromSceneId: scene.id }, { accept: 'text/event-stream' });
      expect(response.status).toBe(400);
      expect(response.body.error).toMatchObject({ code: 'validation', field: 'pace' });
    }
    const after = await call(server.url, 'GET', `/api/stories/${story.id}`);
    expect(after.body.story.version).toBe(story.version);
  });

  it('archives a story (readable, not playable) and makes it playable again', async () => {
    const { story, scene } = await newStory();
    const archived = await call(server.url, 'PATCH', `/api/stories/${story.id}`, { status: 'archived' });
    expect(archived.status).toBe(200);
    expect(archived.body.story).toMatchObject({ id: story.id, status: 'archived' });
    const listed = await call(server.url, 'GET', '/api/stories');
    expect(listed.body.stories.find((s: { id: string }) => s.id === story.id).status).toBe('archived');
    expect((await call(server.url, 'GET', `/api/stories/${story.id}`)).status).toBe(200);
    const refused = await call(server.url, 'POST', `/api/stories/${story.id}/turns`, { choice: 1, fromSceneId: scene.id });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('story_archived');

    const active = await call(server.url, 'PATCH', `/api/stories/${story.id}`, { status: 'active' });
    expect(active.body.story.status).toBe('active');
    expect((await call(server.url, 'POST', `/api/stories/${story.id}/turns`, { choice: 1, fromSceneId: scene.id })).status).toBe(201);
  });

  it('answers a bad status or an unknown field with 400, and a missing story with 404', async () => {
    const { story } = await newStory();
    const bad = await call(server.url, 'PATCH', `/api/stories/${story.id}`, { status: 'deleted' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'validation', field: 'status' });
    expect((await call(server.url, 'PATCH', `/api/stories/${story.id}`, { status: 'archived', title: 'x' })).status).toBe(400);
    expect((await call(server.url, 'GET', `/api/stories/${story.id}`)).body.story.status).toBe('active');
    const missing = await call(server.url, 'PATCH', '/api/stories/00000000-0000-4000-8000-000000000000', { status: 'archived' });
    expect(missing.status).toBe(404);
  });
});
