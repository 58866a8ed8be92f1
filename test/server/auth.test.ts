import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { createToken, ensureUser } from '../../src/server/access/access-repo.js';
import { startServeProcess } from './serve-process.js';
import { call, startTestServer, type TestServer } from './test-server.js';

let database: TestServerDatabase;
let server: TestServer;
let alice: string;
let bob: string;
let carol: string;

beforeAll(async () => {
  database = await createServerTestDatabase({ poolSize: 10 });
  alice = (await createToken(database.db, (await ensureUser(database.db, 'alice')).id)).token;
  bob = (await createToken(database.db, (await ensureUser(database.db, 'bob')).id)).token;
  carol = (await createToken(database.db, (await ensureUser(database.db, 'carol')).id)).token;
  server = await startTestServer(database.db, { env: { LIVINGWORLD_TURN_RATE_LIMIT: '8', LIVINGWORLD_TURN_RATE_WINDOW_MS: '60000' } });
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
});

const as = (token: string) => ({ authorization: `Bearer ${token}` });

async function aliceStory() {
  const created = await call(server.url, 'POST', '/api/stories', { title: "Alice's", setting: 'A garden behind a wall.' }, as(alice));
  expect(created.status).toBe(201);
  return created.body as { story: { id: string }; scene: { id: string } };
}

describe('access control with tokens', () => {
  it('answers 401 without a token, or with a wrong one, once a token exists', async () => {
    const none = await call(server.url, 'GET', '/api/stories');
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('unauthorized');
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect((await call(server.url, 'GET', '/api/stories', undefined, { authorization: 'Bearer lw_wrong' })).status).toBe(401);
    expect((await call(server.url, 'GET', '/api/stories', undefined, { authorization: 'Basic abc' })).status).toBe(401);
    expect((await call(server.url, 'POST', '/api/stories', { title: 'x', setting: 'y' })).status).toBe(401);
    // Operations stay open for probes and scrapers.
    expect((await call(server.url, 'GET', '/healthz')).status).toBe(200);
  });

  it("answers another user's story with 404, for reading, advancing and everything else", async () => {
    const { story, scene } = await aliceStory();
    expect((await call(server.url, 'GET', `/api/stories/${story.id}`, undefined, as(alice))).status).toBe(200);
    const paths: [string, string, unknown?][] = [
      ['GET', `/api/stories/${story.id}`],
      ['GET', `/api/stories/${story.id}/scenes`],
      ['GET', `/api/stories/${story.id}/characters`],
      ['GET', `/api/stories/${story.id}/export?format=json`],
      ['POST', `/api/stories/${story.id}/turns`, { choice: 1, fromSceneId: scene.id }],
      ['POST', `/api/stories/${story.id}/regenerate`, {}],
      ['POST', `/api/stories/${story.id}/undo`, {}],
      ['POST', `/api/stories/${story.id}/members`, { user: 'bob', role: 'player' }],
    ];
    for (const [method, path, body] of paths) {
      const response = await call(server.url, method, path, body, as(bob));
      expect(response.status, `${method} ${path}`).toBe(404);
    }
    const list = await call(server.url, 'GET', '/api/stories', undefined, as(bob));
    expect(list.body.stories.map((s: { id: string }) => s.id)).not.toContain(story.id);
    const { characters } = (await call(server.url, 'GET', `/api/stories/${story.id}/characters`, undefined, as(alice))).body;
    expect((await call(server.url, 'GET', `/api/characters/${characters[0].id}`, undefined, as(bob))).status).toBe(404);
    // Nothing changed.
    expect((await call(server.url, 'GET', `/api/stories/${story.id}`, undefined, as(alice))).body.story.headSceneId).toBe(scene.id);
  });

  it('lets the owner invite a reader and a player, each with their own rights', async () => {
    const { story, scene } = await aliceStory();
    expect((await call(server.url, 'POST', `/api/stories/${story.id}/members`, { user: 'bob', role: 'reader' }, as(alice))).status).toBe(201);
    expect((await call(server.url, 'POST', `/api/stories/${story.id}/members`, { user: 'carol', role: 'player' }, as(alice))).status).toBe(201);
    const unknown = await call(server.url, 'POST', `/api/stories/${story.id}/members`, { user: 'dave', role: 'player' }, as(alice));
    expect(unknown.body.error).toMatchObject({ code: 'not_found', field: 'user' });
    const badRole = await call(server.url, 'POST', `/api/stories/${story.id}/members`, { user: 'bob', role: 'admin' }, as(alice));
    expect(badRole.body.error).toMatchObject({ code: 'validation', field: 'role' });

    expect((await call(server.url, 'GET', `/api/stories/${story.id}`, undefined, as(bob))).body.role).toBe('reader');
    const readerTurn = await call(server.url, 'POST', `/api/stories/${story.id}/turns`, { choice: 1, fromSceneId: scene.id }, as(bob));
    expect(readerTurn.status).toBe(403);
    const playerTurn = await call(server.url, 'POST', `/api/stories/${story.id}/turns`, { choice: 1, fromSceneId: scene.id }, as(carol));
    expect(playerTurn.status).toBe(201);
    const playerInvite = await call(server.url, 'POST', `/api/stories/${story.id}/members`, { user: 'bob', role: 'player' }, as(carol));
    expect(playerInvite.status).toBe(403);
    const members = await call(server.url, 'GET', `/api/stories/${story.id}/members`, undefined, as(bob));
    expect(members.body.members).toEqual(
      expect.arrayContaining([
        { user: 'alice', role: 'owner' },
        { user: 'bob', role: 'reader' },
        { user: 'carol', role: 'player' },
      ]),
    );
    expect((await call(server.url, 'GET', '/api/stories', undefined, as(carol))).body.stories.map((s: { id: string }) => s.id)).toContain(story.id);
  });

  it('limits scene writing per user, not per address', async () => {
    const { story } = await aliceStory();
    let limited = 0;
    for (let i = 0; i < 10; i++) {
      const response = await call(server.url, 'POST', `/api/stories/${story.id}/turns`, { choice: 'x' }, as(alice));
      if (response.status === 429) {
        limited++;
        expect(response.body.error.code).toBe('rate_limited');
      }
    }
    expect(limited).toBeGreaterThan(0);
    // Bob, from the same address, still has his own budget.
    expect((await call(server.url, 'POST', '/api/stories', { title: 'Bob', setting: 'A quiet lake.' }, as(bob))).status).toBe(201);
  });
});

describe('binding beyond loopback', () => {
  it('refuses to listen on 0.0.0.0 without auth, with one line saying what to do', async () => {
    const empty = await createServerTestDatabase({ poolSize: 1 });
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('src/cli/main.ts'), 'serve', '--host', '0.0.0.0', '--port', '0'], {
        env: { ...process.env, DATABASE_URL: empty.url, LLM_PROVIDER: 'offline', LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      let stdout = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      clearTimeout(timer);
      expect(code).not.toBe(0);
      expect(stdout).not.toContain('listening');
      const lines = stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/Refusing to listen on 0\.0\.0\.0.*token create --user NAME.*LIVINGWORLD_AUTH=required/);
    } finally {
      await empty.drop();
    }
  });

  // Serve processes use the real embedder, so they get a database the in-process tests (test embedder) never touched.
  let own: TestServerDatabase;
  let token: string;
  beforeAll(async () => {
    own = await createServerTestDatabase({ poolSize: 1 });
    token = (await createToken(own.db, (await ensureUser(own.db, 'erin')).id)).token;
  });
  afterAll(async () => own?.drop());

  it('listens on 0.0.0.0 once a token exists, and then requires it', async () => {
    const serve = await startServeProcess({ env: { DATABASE_URL: own.url }, args: ['--host', '0.0.0.0'] });
    try {
      const base = `http://127.0.0.1:${serve.port}`;
      expect((await call(base, 'GET', '/api/stories')).status).toBe(401);
      expect((await call(base, 'GET', '/api/stories', undefined, as(token))).status).toBe(200);
    } finally {
      await serve.stop();
    }
  });

  it('never logs the token', async () => {
    const serve = await startServeProcess({ env: { DATABASE_URL: own.url, LOG_LEVEL: 'trace' } });
    try {
      await call(serve.url, 'GET', '/api/stories', undefined, as(token));
      await call(serve.url, 'GET', '/api/nothing', undefined, as(token));
      await call(serve.url, 'GET', '/api/stories', undefined, { authorization: 'Bearer lw_not_a_real_token_but_secret' });
    } finally {
      await serve.stop();
    }
    expect(serve.stderr()).toContain('request completed');
    expect(serve.stderr()).not.toContain(token.slice(3, 20));
    expect(serve.stderr()).not.toContain('lw_not_a_real_token_but_secret');
  });
});
