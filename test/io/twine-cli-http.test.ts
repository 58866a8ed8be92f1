import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseTwee } from 'extwee';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { createCountingProvider } from '../helpers/counting-provider.js';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../server/test-server.js';
import { harloweLinks } from './harlowe-reading.js';

const fixtures = path.resolve('test/fixtures/io/twine');

describe('Twine and Python imports through the CLI and HTTP', () => {
  let database: TestServerDatabase;
  let dir: string;
  beforeAll(async () => {
    database = await createServerTestDatabase({ poolSize: 4 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-twine-'));
  });
  afterAll(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    await database.drop();
  });

  it('livingworld import reads Twee, says what was not carried over, and advance follows the passages with no model call', async () => {
    const env = { DATABASE_URL: database.url, LLM_PROVIDER: 'offline', LIVINGWORLD_DATA_DIR: path.join(dir, 'data') };
    const file = path.join(fixtures, 'lighthouse.twee');
    const json = await runCli(['import', file, '--json'], { env });
    expect(json.code, json.stderr).toBe(0);
    const result = JSON.parse(json.stdout) as { storyId: string; format: string; title: string; notCarriedOver: string[]; repairs: unknown[] };
    expect(result).toMatchObject({ format: 'twee', title: 'The Lighthouse at Vell', repairs: [] });
    expect(result.notCarriedOver).toContain('passages not reachable from the start "Start": "Attic"');
    const text = await runCli(['import', file, '--yes'], { env });
    // The second import of the same file is a copy, made without asking under --yes.
    expect(text.stdout).toMatch(/^Imported "The Lighthouse at Vell" as [0-9a-f-]{36}, a copy of [0-9a-f-]{36}\.\n {2}not carried over: macros \(removed from the prose; the storyteller does not run them\): set ×2/);

    for (const choice of ['1', '2']) {
      const advanced = await runCli(['advance', result.storyId, choice, '--json'], { env });
      expect(advanced.code, advanced.stderr).toBe(0);
      expect(JSON.parse(advanced.stdout)).toMatchObject({ how: 'followed' });
    }
    const shown = JSON.parse((await runCli(['show', result.storyId, '--json'], { env })).stdout) as { scene: { content: string; sceneNumber: number } };
    expect(shown.scene).toMatchObject({ sceneNumber: 3, content: "Old Piet's skiff rocks in its berth." });
    const { rows } = await database.db.query<{ model_calls: number; status: string }>('SELECT model_calls, status FROM turns WHERE story_id = $1', [result.storyId]);
    expect(rows).toEqual([
      { model_calls: 0, status: 'succeeded' },
      { model_calls: 0, status: 'succeeded' },
    ]);

    const twee = await runCli(['export', result.storyId, '--format', 'twee'], { env });
    const story = parseTwee(twee.stdout);
    const names = new Set(story.passages.map((p) => p.name));
    for (const passage of story.passages) for (const link of harloweLinks(passage.text)) expect(names.has(link.passage)).toBe(true);
  }, 300_000);

  it('livingworld import lists the repairs of a Python export, and refuses a file that is not a story', async () => {
    const env = { DATABASE_URL: database.url, LLM_PROVIDER: 'offline', LIVINGWORLD_DATA_DIR: path.join(dir, 'data') };
    const sample = JSON.parse(fs.readFileSync(path.resolve('test/fixtures/io/livingworld-py-export-1.0.json'), 'utf8'));
    sample.scenes[0].content = '   ';
    const file = path.join(dir, 'python.json');
    fs.writeFileSync(file, JSON.stringify(sample));
    const imported = await runCli(['import', file], { env });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toContain('  repaired scenes[0].content: is empty; the scene’s raw_response stands in for it');
    fs.writeFileSync(file, JSON.stringify({ format_version: '1.0', story: { title: 'x' }, scenes: 'none' }));
    const refused = await runCli(['import', file], { env });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('Invalid LivingWorld (Python) export: scenes: must be an array of scenes');
  }, 300_000);

  describe('over HTTP', () => {
    // A database of its own: the CLI runs above recorded their (offline) embedder in theirs.
    let httpDatabase: TestServerDatabase;
    let server: TestServer;
    const provider = createCountingProvider({ latencyMs: 5 });
    beforeAll(async () => {
      httpDatabase = await createServerTestDatabase({ poolSize: 4 });
      server = await startTestServer(httpDatabase.db, { provider });
    });
    afterAll(async () => {
      await server.close();
      await httpDatabase.drop();
    });

    it('POST /api/import takes Twine 2 HTML, and turns on it follow the passages without calling the model', async () => {
      const html = fs.readFileSync(path.join(fixtures, 'ferry-library.html'), 'utf8');
      const imported = await call(server.url, 'POST', '/api/import?filename=ferry.html', html, { 'content-type': 'text/html' });
      expect(imported.status).toBe(201);
      expect(imported.body).toMatchObject({ format: 'twine-html', repairs: [], story: { title: 'The Ferry & the Island' } });
      expect(imported.body.notCarriedOver).toContain('other stories in the library file (import each on its own): "Second Story"');
      const storyId = imported.body.storyId as string;

      const first = await call(server.url, 'POST', `/api/stories/${storyId}/turns`, { choice: 1 }, { 'idempotency-key': 'ferry-1' });
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({ how: 'followed', scene: { sceneNumber: 2, content: 'The deck tilts under you. Gulls follow the wake.' } });
      const retried = await call(server.url, 'POST', `/api/stories/${storyId}/turns`, { choice: 1 }, { 'idempotency-key': 'ferry-1' });
      expect(retried.body).toMatchObject({ how: 'replayed', turnId: first.body.turnId });
      const second = await call(server.url, 'POST', `/api/stories/${storyId}/turns`, { choice: 1, fromSceneId: first.body.scene.id });
      expect(second.body).toMatchObject({ how: 'followed', scene: { sceneNumber: 3, content: 'The island is smaller than it looked, and someone is waiting.' } });
      expect(provider.calls).toBe(0);
      // The island is an ending: the storyteller writes what follows.
      const written = await call(server.url, 'POST', `/api/stories/${storyId}/turns`, { choice: 1 });
      expect(written.status, JSON.stringify(written.body)).toBe(201);
      expect(written.body.how).toBe('generated');
      expect(provider.calls).toBe(1);
    });

    it('POST /api/import takes a Python export and answers with its repairs', async () => {
      const sample = JSON.parse(fs.readFileSync(path.resolve('test/fixtures/io/livingworld-py-export-1.0.json'), 'utf8'));
      sample.characters[0].name = 'X'.repeat(150);
      const imported = await call(server.url, 'POST', '/api/import', sample);
      expect(imported.status).toBe(201);
      expect(imported.body.repairs).toEqual([{ path: 'characters[0].name', repair: 'was 150 characters; cut to 100' }]);
      const refused = await call(server.url, 'POST', '/api/import', { format_version: '1.0', story: 'no', scenes: [] });
      expect(refused.status).toBe(400);
      expect(refused.body.error.message).toBe('Invalid LivingWorld (Python) export: story: must be an object (the story)');
    });
  });
});
