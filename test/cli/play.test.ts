import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InteractiveCli } from '../helpers/interactive-cli.js';
import { runCli } from '../helpers/cli.js';

let dataDir: string;
let env: NodeJS.ProcessEnv;
beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-cli-'));
  // A fresh user: no DATABASE_URL, no model.
  env = { LIVINGWORLD_DATA_DIR: dataDir, DATABASE_URL: '', LLM_PROVIDER: 'auto', OLLAMA_HOST: 'http://127.0.0.1:9' };
});
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

function choicesIn(text: string): string[] {
  return [...text.matchAll(/^\s+([1-3])\. (.+)$/gm)].map((m) => m[2]!);
}

describe('playing in the terminal with no model and no database server', () => {
  it('menu → new story → opening scene with 3 choices → "2 (look for the lighthouse keeper)" → a scene that follows it', async () => {
    const cli = new InteractiveCli([], env);
    try {
      await cli.waitFor(/Choose: $/);
      expect(cli.output).toMatch(/offline storyteller/i);
      let mark = cli.send('1');
      await cli.waitFor(/Title: $/, { from: mark });
      mark = cli.send('Salt and Lanterns');
      await cli.waitFor(/Setting.*: $/, { from: mark });
      mark = cli.send('A fishing harbour on a foggy northern coast, with a lighthouse on the point');
      await cli.waitFor(/Instructions.*: $/, { from: mark });
      mark = cli.send('');
      const opening = await cli.waitFor(/\n> $/, { from: mark });
      expect(opening).toMatch(/Scene 1 · offline storyteller/);
      const openingChoices = choicesIn(opening);
      expect(openingChoices).toHaveLength(3);
      expect(new Set(openingChoices).size).toBe(3);

      const started = Date.now();
      mark = cli.send('2 (look for the lighthouse keeper)');
      const next = await cli.waitFor(/\n> $/, { from: mark });
      const turnMs = Date.now() - started;
      expect(next).toMatch(/Scene 2 · offline storyteller/);
      expect(next.toLowerCase()).toContain('lighthouse keeper');
      expect(choicesIn(next)).toHaveLength(3);
      expect(turnMs).toBeLessThan(2_000);

      mark = cli.send('characters');
      await cli.waitFor(/\n> $/, { from: mark });
      mark = cli.send('quit');
      await cli.waitFor(/Choose: $/, { from: mark });
      cli.send('7');
      expect(await cli.close()).toBe(0);
      expect(cli.errors).toBe('');
    } finally {
      await cli.close();
    }
  });

  it('cancels a turn with Ctrl-C and writes nothing', async () => {
    const created = await runCli(['new', '--title', 'Slow', '--setting', 'A quiet forest village', '--json'], { env });
    expect(created.code, created.stderr).toBe(0);
    const { story } = JSON.parse(created.stdout) as { story: { id: string } };
    const cli = new InteractiveCli(['play', story.id], { ...env, LIVINGWORLD_OFFLINE_LATENCY_MS: '5000' });
    try {
      await cli.waitFor(/\n> $/);
      const mark = cli.send('1');
      await new Promise((r) => setTimeout(r, 800));
      cli.interrupt();
      await cli.waitFor(/Cancelled; nothing was written/, { from: mark });
      await cli.waitFor(/\n> $/, { from: mark });
      cli.send('quit');
      await cli.close();
    } finally {
      await cli.close();
    }
    const shown = await runCli(['show', story.id, '--json'], { env });
    expect((JSON.parse(shown.stdout) as { scene: { sceneNumber: number } }).scene.sceneNumber).toBe(1);
  });
});

describe('non-interactive commands', () => {
  let storyId: string;
  let version: number;

  beforeAll(async () => {
    const created = await runCli(['new', '--title', 'Bad input', '--setting', 'A harbour at dusk', '--json'], { env });
    expect(created.code, created.stderr).toBe(0);
    const parsed = JSON.parse(created.stdout) as { story: { id: string }; scene: { choices: unknown[]; offline: boolean } };
    expect(parsed.scene.choices).toHaveLength(3);
    expect(parsed.scene.offline).toBe(true);
    storyId = parsed.story.id;
    const advanced = await runCli(['advance', storyId, '3', '--instruction', 'ask about the fog', '--json'], { env });
    expect(advanced.code, advanced.stderr).toBe(0);
    expect((JSON.parse(advanced.stdout) as { scene: { sceneNumber: number } }).scene.sceneNumber).toBe(2);
    const shown = await runCli(['show', storyId, '--json'], { env });
    version = (JSON.parse(shown.stdout) as { story: { version: number } }).story.version;
  });

  async function expectUnchanged(): Promise<void> {
    const shown = await runCli(['show', storyId, '--json'], { env });
    const parsed = JSON.parse(shown.stdout) as { story: { version: number }; scene: { sceneNumber: number } };
    expect(parsed.story.version).toBe(version);
    expect(parsed.scene.sceneNumber).toBe(2);
  }

  it.each([
    ['0', /Choice 0 does not exist/],
    ['4', /Choice 4 does not exist; this scene offers choices 1–3/],
    ['abc', /whole number/],
  ])('refuses choice %s with a clear message and writes nothing', async (choice, message) => {
    const result = await runCli(['advance', storyId, choice], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    await expectUnchanged();
  });

  it('refuses a 10,000-character instruction', async () => {
    const result = await runCli(['advance', storyId, '1', '--instruction', 'x'.repeat(10_000)], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/limit is 2000/);
    await expectUnchanged();
  });

  it('refuses an unknown story', async () => {
    const result = await runCli(['advance', '00000000-0000-4000-8000-000000000000', '1'], { env });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/No story with id/);
    const garbage = await runCli(['show', 'not-a-story'], { env });
    expect(garbage.code).toBe(4);
  });

  it('refuses to play an archived story, and plays it again once unarchived', async () => {
    expect((await runCli(['archive', storyId], { env })).code).toBe(0);
    const shown = await runCli(['show', storyId, '--json'], { env });
    version = (JSON.parse(shown.stdout) as { story: { version: number } }).story.version;
    const result = await runCli(['advance', storyId, '1'], { env });
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/archived/);
    await expectUnchanged();
    expect((await runCli(['unarchive', storyId], { env })).code).toBe(0);
    expect((await runCli(['advance', storyId, '1', '--json'], { env })).code).toBe(0);
  });

  it('lists stories as one JSON document', async () => {
    const result = await runCli(['list', '--json'], { env });
    expect(result.code).toBe(0);
    const { stories } = JSON.parse(result.stdout) as { stories: { id: string }[] };
    expect(stories.map((s) => s.id)).toContain(storyId);
  });
});
