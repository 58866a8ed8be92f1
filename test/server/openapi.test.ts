import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Database } from '../../src/db/index.js';
import { createEmbeddedTestDatabase } from '../helpers/db.js';
import { pngCardWithAssets } from '../io/card-builders.js';
import { call, startTestServer, type TestServer } from './test-server.js';

/**
 * The OpenAPI document at /api/openapi.json: valid OpenAPI 3.1, every registered route in it,
 * and real answers that match what it says of them.
 */

let db: Database;
let server: TestServer;
let doc: any;
beforeAll(async () => {
  db = await createEmbeddedTestDatabase();
  server = await startTestServer(db);
  const response = await fetch(`${server.url}/api/openapi.json`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  doc = await response.json();
}, 60_000);
afterAll(async () => {
  await server?.close();
  await db?.close();
});

/** Fastify's `/api/stories/:id` as OpenAPI writes it: `/api/stories/{id}`. */
const openApiPath = (url: string) => url.replace(/:([A-Za-z]+)/g, '{$1}');

/** The JSON schema the document gives for an answer, with its shared schemas resolvable. */
function answerSchema(path: string, method: string, status: number): object {
  const response = doc.paths[path]?.[method]?.responses?.[String(status)];
  expect(response, `${method.toUpperCase()} ${path} documents ${status}`).toBeDefined();
  return response.content['application/json'].schema;
}

function checkAnswer(path: string, method: string, status: number, body: unknown): void {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  for (const [name, schema] of Object.entries(doc.components?.schemas ?? {})) ajv.addSchema(schema as object, `#/components/schemas/${name}`);
  // Refs in the document point into it: validate against the whole document, entering at the answer.
  const validate = ajv.compile({ ...answerSchema(path, method, status), components: doc.components });
  const valid = validate(body);
  expect(validate.errors ?? [], `${method.toUpperCase()} ${path} ${status}`).toEqual([]);
  expect(valid).toBe(true);
}

describe('GET /api/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('describes every route the server registered, each with its error answers', () => {
    const routes = listRoutes(server);
    expect(routes.length).toBeGreaterThan(30);
    for (const { method, url } of routes) {
      const operation = doc.paths[openApiPath(url)]?.[method.toLowerCase()];
      expect(operation, `${method} ${url} is in the document`).toBeDefined();
      expect(operation.summary, `${method} ${url} has a summary`).toBeTruthy();
      const statuses = Object.keys(operation.responses);
      expect(statuses.some((s) => s.startsWith('2')), `${method} ${url} documents its answer`).toBe(true);
      expect(operation.responses['500'], `${method} ${url} documents 500`).toBeDefined();
      // Readiness answers 503 in its own shape ({status}); every other error is an ErrorBody.
      for (const status of statuses.filter((s) => Number(s) >= 400 && !(url === '/readyz' && s === '503'))) {
        expect(operation.responses[status].content['application/json'].schema.$ref).toMatch(/ErrorBody/);
      }
    }
    // And nothing that is not a route.
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops as object).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(routes.map((r) => `${r.method} ${openApiPath(r.url)}`).sort());
  });

  it('matches real answers: stories, turns, scenes, characters, a card story, export, info, health and errors', async () => {
    const created = await call(server.url, 'POST', '/api/stories', { title: 'Docs', setting: 'A lighthouse on a cold coast' });
    expect(created.status).toBe(201);
    checkAnswer('/api/stories', 'post', 201, created.body);
    const id = created.body.story.id as string;
    const turn = await call(server.url, 'POST', `/api/stories/${id}/turns`, { choice: 1 });
    checkAnswer('/api/stories/{id}/turns', 'post', 201, turn.body);

    for (const [path, documented] of [
      ['/api/stories', '/api/stories'],
      [`/api/stories/${id}`, '/api/stories/{id}'],
      [`/api/stories/${id}/scenes?content=1`, '/api/stories/{id}/scenes'],
      [`/api/stories/${id}/characters`, '/api/stories/{id}/characters'],
      [`/api/stories/${id}/relationships`, '/api/stories/{id}/relationships'],
      [`/api/stories/${id}/members`, '/api/stories/{id}/members'],
      [`/api/stories/${id}/lore`, '/api/stories/{id}/lore'],
      [`/api/stories/${id}/scenes/${turn.body.scene.id}/prompt`, '/api/stories/{id}/scenes/{sceneId}/prompt'],
      [`/api/stories/${id}/export`, '/api/stories/{id}/export'],
      ['/api/info', '/api/info'],
      ['/healthz', '/healthz'],
    ] as const) {
      const answer = await call(server.url, 'GET', path);
      expect(answer.status, path).toBe(200);
      checkAnswer(documented, 'get', 200, answer.body);
    }

    // A story from a card file, and its character with a picture.
    const carded = await fetch(`${server.url}/api/cards?playerName=Ilse`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: pngCardWithAssets().png });
    expect(carded.status).toBe(201);
    const cardStory = (await carded.json()) as { story: { id: string }; characterId: string };
    checkAnswer('/api/cards', 'post', 201, cardStory);
    const people = await call(server.url, 'GET', `/api/stories/${cardStory.story.id}/characters`);
    expect(people.body.characters[0].avatarUrl).toBeDefined();
    checkAnswer('/api/stories/{id}/characters', 'get', 200, people.body);
    const person = await call(server.url, 'GET', `/api/characters/${cardStory.characterId}`);
    checkAnswer('/api/characters/{id}', 'get', 200, person.body);

    const missing = await call(server.url, 'GET', '/api/stories/00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    checkAnswer('/api/stories/{id}', 'get', 404, missing.body);
    const bad = await call(server.url, 'POST', `/api/stories/${id}/turns`, { choice: 'seven' });
    expect(bad.status).toBe(400);
    checkAnswer('/api/stories/{id}/turns', 'post', 400, bad.body);
    // A documented schema that could not fail would prove nothing: a wrong answer is refused.
    expect(() => checkAnswer('/api/stories/{id}', 'get', 200, { story: { id } })).toThrow();
  });
});

/**
 * Every route Fastify serves, read from its own route tree (printRoutes), less the HEAD twins
 * of GETs and the web UI's files (`*`).
 */
function listRoutes(server: TestServer): { method: string; url: string }[] {
  const routes: { method: string; url: string }[] = [];
  const prefixes: string[] = [];
  for (const line of server.app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+) \(([A-Z, ]+)\)/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    prefixes.length = depth;
    const url = `${prefixes.join('')}${match[2]}`;
    prefixes.push(match[2]!);
    if (url === '*') continue;
    for (const method of match[3]!.split(', ')) if (method !== 'HEAD') routes.push({ method, url });
  }
  return routes;
}
