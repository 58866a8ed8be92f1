import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtCliEntry, runCli } from '../helpers/cli.js';
import { startServeProcess } from '../server/serve-process.js';

// The other CLI tests run the source through tsx; this one runs what `npm start` and an
// installed `livingworld` run: the bundle in dist/bin, whose modules all share one location,
// so every file it ships beside the code (migrations, prompts, offline vocabulary, the web UI,
// the embedded template) must still be found.
const manifest = JSON.parse(fs.readFileSync('package.json', 'utf8')) as { version: string; bin: Record<string, string>; scripts: Record<string, string> };

let dataDir: string;
let env: NodeJS.ProcessEnv;
beforeAll(() => {
  if (!fs.existsSync(builtCliEntry)) throw new Error(`${builtCliEntry} is missing: run \`npm run build\` first.`);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-built-'));
  env = { LIVINGWORLD_DATA_DIR: dataDir, DATABASE_URL: '', LLM_PROVIDER: 'offline' };
});
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

describe('the built command', () => {
  it('is what package.json installs and starts', () => {
    expect(path.resolve(manifest.bin['livingworld']!)).toBe(builtCliEntry);
    expect(manifest.scripts['start']).toBe(`node ${manifest.bin['livingworld']}`);
    expect(fs.statSync(builtCliEntry).mode & 0o111).not.toBe(0);
  });

  it('prints the package version', async () => {
    const result = await runCli(['--version'], { env, entry: 'built' });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe(manifest.version);
  });

  it('creates a story in a new data directory from the template, plays a turn with the offline storyteller and shows it', async () => {
    const created = await runCli(['new', '--title', 'Built', '--setting', 'A harbour town under sea fog', '--json'], { env, entry: 'built', timeoutMs: 120_000 });
    expect(created.code, created.stderr).toBe(0);
    const story = (JSON.parse(created.stdout) as { story: { id: string } }).story;
    // The template was copied: no slow initdb was announced.
    expect(created.stderr).not.toMatch(/a few seconds, once/);

    const advanced = await runCli(['advance', story.id, '2', '--instruction', 'ask about the fog', '--json'], { env, entry: 'built', timeoutMs: 120_000 });
    expect(advanced.code, advanced.stderr).toBe(0);
    const turn = JSON.parse(advanced.stdout) as { scene: { sceneNumber: number; content: string; choices: unknown[] } };
    expect(turn.scene.sceneNumber).toBe(2);
    expect(turn.scene.content).toMatch(/fog/i);
    expect(turn.scene.choices).toHaveLength(3);

    const listed = await runCli(['list'], { env, entry: 'built' });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('Built');
  });

  it('serves the web UI and the API', async () => {
    const serve = await startServeProcess({ env: { LIVINGWORLD_DATA_DIR: dataDir, DATABASE_URL: '' }, entry: 'built', startTimeoutMs: 60_000 });
    try {
      const page = await fetch(serve.url);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<html/i);
      const docs = await fetch(`${serve.url}/api/openapi.json`);
      expect(((await docs.json()) as { info: { version: string } }).info.version).toBe(manifest.version);
    } finally {
      await serve.stop();
    }
  });
});
