import http from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from './test-server.js';

let database: TestServerDatabase;
let server: TestServer;
let ids: { story: string; scene: string; character: string };

beforeAll(async () => {
  database = await createServerTestDatabase({ poolSize: 10 });
  server = await startTestServer(database.db, { env: { LIVINGWORLD_TURN_RATE_LIMIT: '100000' } });
  const created = await call(server.url, 'POST', '/api/stories', { title: 'Fuzz', setting: 'A town that receives strange letters.' });
  const characters = await call(server.url, 'GET', `/api/stories/${created.body.story.id}/characters`);
  ids = { story: created.body.story.id, scene: created.body.scene.id, character: characters.body.characters[0].id };
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
});

interface RawResponse {
  status: number;
  body: string;
}

/** node:http rather than fetch: any method, any header value, any body bytes. */
function send(request: { method: string; path: string; headers: Record<string, string>; body: string | undefined }): Promise<RawResponse> {
  const url = new URL(server.url);
  // Node sends DELETE and OPTIONS bodies without framing unless told the length.
  const headers = request.body === undefined ? request.headers : { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) };
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method: request.method, path: request.path, headers, timeout: 15_000, agent: false },
      (res) => {
        // A live event stream never ends by itself: its status is the answer.
        if (String(res.headers['content-type']).startsWith('text/event-stream') && request.method === 'GET') {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, body: '' });
          return;
        }
        let body = '';
        res.setEncoding('utf8');
        // Streamed turns end by themselves and their error events matter: keep them whole.
        const keep = String(res.headers['content-type']).startsWith('text/event-stream') ? Infinity : 2000;
        res.on('data', (chunk: string) => (body += body.length < keep ? chunk : ''));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(request.body);
  });
}

const printable = (max: number) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: max });
const weirdText = fc.oneof(
  fc.string({ maxLength: 50 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.constantFrom('', ' ', '..', '%00', '%2e%2e', '😀', '\u0000', '<script>', "' OR 1=1 --", 'null', '-1', '1e309', 'x'.repeat(5000)),
);
const anyId = fc.oneof(
  fc.constant(null).map(() => ids.story),
  fc.constant(null).map(() => ids.scene),
  fc.constant(null).map(() => ids.character),
  fc.uuid(),
  weirdText,
);
const pathTemplates = [
  '/api/stories',
  '/api/stories/:id',
  '/api/stories/:id/turns',
  '/api/stories/:id/regenerate',
  '/api/stories/:id/undo',
  '/api/stories/:id/rewind',
  '/api/stories/:id/scenes',
  '/api/stories/:id/characters',
  '/api/stories/:id/relationships',
  '/api/stories/:id/members',
  '/api/stories/:id/events',
  '/api/stories/:id/export',
  '/api/characters/:id',
  '/api/characters/:id/talk',
  '/api/import',
  '/api/info',
  '/api',
  '/readyz',
  '/healthz',
  '/metrics',
  '/',
  '/app.js',
  '/../package.json',
  '/%2e%2e/package.json',
];
const queryArb = fc.oneof(
  fc.constant(''),
  fc
    .array(fc.tuple(fc.constantFrom('thoughts', 'format', 'content', 'filename', 'x', '__proto__'), weirdText), { maxLength: 3 })
    .map((pairs) => `?${pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`),
  printable(40).map((q) => `?${q.replace(/[ #]/g, '')}`),
);
const pathArb = fc.tuple(fc.constantFrom(...pathTemplates), anyId, queryArb).map(([template, id, query]) => {
  const encoded = encodeURIComponent(id).slice(0, 4000);
  return `${template.replace(':id', encoded)}${query}`;
});
const fieldNames = ['title', 'setting', 'instructions', 'seed', 'choice', 'instruction', 'fromSceneId', 'toSceneId', 'version', 'message', 'user', 'role', 'mood', 'name', '__proto__', 'constructor'];
const wrongValue = fc.oneof(
  fc.jsonValue(),
  weirdText,
  fc.integer(),
  fc.double(),
  fc.constantFrom(null, true, [], {}, -1, 0, 1, 2, 3, 9, 10, 2 ** 53, 'reader', 'player', 'json', 'md'),
  anyId,
);
const bodyArb = fc.oneof(
  fc.constant(undefined),
  fc.dictionary(fc.constantFrom(...fieldNames), wrongValue, { maxKeys: 5 }).map((o) => JSON.stringify(o)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.jsonValue().map((v) => JSON.stringify(v).slice(0, -1)),
  fc.integer({ min: 1, max: 3 }).map((mb) => JSON.stringify({ title: 'x'.repeat(mb * 700_000), setting: 'y' })),
);
const headerArb = fc.record(
  {
    'content-type': fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'text/markdown', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/octet-stream', ''),
    accept: fc.constantFrom('application/json', 'text/event-stream', '*/*', 'text/html'),
    'idempotency-key': printable(250),
    'if-match': fc.oneof(printable(30), fc.nat().map((n) => `"${n}"`)),
    authorization: fc.oneof(printable(80), printable(40).map((t) => `Bearer ${t}`)),
    'x-request-id': printable(100),
  },
  { requiredKeys: [] },
);
// The routes with their own methods and the kind of id they take, so most requests get past routing.
const routes: [string, string, 'story' | 'character' | 'none'][] = [
  ['POST', '/api/stories', 'none'],
  ['GET', '/api/stories/:id', 'story'],
  ['POST', '/api/stories/:id/turns', 'story'],
  ['POST', '/api/stories/:id/regenerate', 'story'],
  ['POST', '/api/stories/:id/undo', 'story'],
  ['POST', '/api/stories/:id/rewind', 'story'],
  ['GET', '/api/stories/:id/scenes', 'story'],
  ['GET', '/api/stories/:id/characters', 'story'],
  ['POST', '/api/stories/:id/members', 'story'],
  ['GET', '/api/stories/:id/export', 'story'],
  ['GET', '/api/characters/:id', 'character'],
  ['PATCH', '/api/characters/:id', 'character'],
  ['POST', '/api/characters/:id/talk', 'character'],
  ['POST', '/api/import', 'none'],
];
const routedPathArb = fc.tuple(fc.constantFrom(...routes), fc.boolean(), anyId, queryArb).map(([[method, template, kind], useRealId, id, query]) => {
  const realId = kind === 'story' ? ids.story : kind === 'character' ? ids.character : '';
  return { method, path: `${template.replace(':id', encodeURIComponent(useRealId ? realId : id).slice(0, 4000))}${query}` };
});
const randomPathArb = fc.record({ method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'), path: pathArb });
const requestArb = fc
  .tuple(fc.oneof({ arbitrary: routedPathArb, weight: 3 }, { arbitrary: randomPathArb, weight: 1 }), headerArb, bodyArb)
  .map(([{ method, path }, headers, body]) => ({ method, path, headers, body }));

describe('malformed requests', () => {
  it('never get a 5xx across 1,000 random requests', { timeout: 240_000 }, async () => {
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(requestArb, async (request) => {
        const headers = { ...request.headers };
        if (headers['content-type'] === '') delete headers['content-type'];
        // A GET or HEAD with a body is not something clients send; keep those bodiless.
        const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : request.body;
        const response = await send({ method: request.method, path: request.path, headers, body });
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        // A streamed turn answers 200 and reports its failure as an event carrying the status.
        const streamedStatuses = [...response.body.matchAll(/^event: error\ndata: (.*)$/gm)].map((m) => (JSON.parse(m[1]!) as { status: number }).status);
        if (streamedStatuses.some((status) => status >= 500)) response.status = Math.max(...streamedStatuses);
        // Readiness may truthfully say 503 (a migration landed meanwhile); that is its job.
        const readinessAnswer = request.path.startsWith('/readyz') && response.status === 503;
        if ((response.status >= 500 && !readinessAnswer) || response.status === 0) {
          failures.push(`${request.method} ${request.path.slice(0, 200)} → ${response.status} ${response.body.slice(0, 300)}`);
        }
        return response.status > 0 && (response.status < 500 || readinessAnswer);
      }),
      { numRuns: 1000, seed: Number(process.env['FUZZ_SEED'] ?? 20261127), endOnFailure: true },
    );
    expect(failures).toEqual([]);
    // The mix should reach past routing and validation into the use cases.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(20);
    process.stdout.write(`fuzz statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}\n`);
  });
});
