import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

let dir: string;
let env: NodeJS.ProcessEnv;
let storyId: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-world-'));
  env = { LIVINGWORLD_DATA_DIR: path.join(dir, 'data'), DATABASE_URL: '', LLM_PROVIDER: 'offline' };
  const created = await runCli(['new', '--title', 'Lanterns', '--setting', 'A harbour town in fog', '--json'], { env });
  expect(created.code, created.stderr).toBe(0);
  storyId = (JSON.parse(created.stdout) as { story: { id: string } }).story.id;
  for (const choice of ['1', '2']) expect((await runCli(['advance', storyId, choice, '--json'], { env })).code).toBe(0);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('lore from the command line', () => {
  it('adds, lists and edits entries, refusing an edit at a stale version', async () => {
    const added = await runCli(['lore', 'add', storyId, '--title', 'The Drowned Bell', '--content', 'A bell that rings under the sea before storms.', '--keywords', 'bell, storm', '--json'], { env });
    expect(added.code, added.stderr).toBe(0);
    const { entry } = JSON.parse(added.stdout) as { entry: { id: string; version: number; keywords: string[] } };
    expect(entry.keywords).toEqual(['bell', 'storm']);
    const edited = await runCli(['lore', 'edit', storyId, entry.id, '--version', String(entry.version), '--content', 'It rang last night.', '--json'], { env });
    expect(edited.code, edited.stderr).toBe(0);
    const stale = await runCli(['lore', 'edit', storyId, entry.id, '--version', String(entry.version), '--title', 'Again'], { env });
    expect(stale.code).toBe(5);
    expect(stale.stderr).toMatch(/changed meanwhile/);
    const listed = JSON.parse((await runCli(['lore', 'list', storyId, '--json'], { env })).stdout) as { entries: { content: string }[] };
    expect(listed.entries.map((e) => e.content)).toEqual(['It rang last night.']);
  });
});

describe('export and import from the command line', () => {
  it('exports JSON, Markdown and Twee, and imports the JSON back as a new story', async () => {
    const jsonFile = path.join(dir, 'story.json');
    expect((await runCli(['export', storyId, '--format', 'json', '--out', jsonFile], { env })).code).toBe(0);
    const md = await runCli(['export', storyId, '--format', 'md'], { env });
    expect(md.stdout).toMatch(/^# Lanterns/);
    expect(md.stdout).toMatch(/## Scene 3/);
    const twee = await runCli(['export', storyId, '--format', 'twee'], { env });
    expect(twee.stdout).toMatch(/:: StoryData/);
    const imported = await runCli(['import', jsonFile, '--json'], { env });
    expect(imported.code, imported.stderr).toBe(0);
    const { storyId: copy } = JSON.parse(imported.stdout) as { storyId: string };
    expect(copy).not.toBe(storyId);
    const shown = JSON.parse((await runCli(['show', copy, '--json'], { env })).stdout) as { scene: { sceneNumber: number } };
    expect(shown.scene.sceneNumber).toBe(3);
  });

  it('refuses a broken file, saying what is wrong, and writes nothing', async () => {
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '{"format_version": "livingworld/1", "story": {"title": 42}}');
    const before = (JSON.parse((await runCli(['list', '--json'], { env })).stdout) as { stories: unknown[] }).stories.length;
    const result = await runCli(['import', bad], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/story/);
    const after = (JSON.parse((await runCli(['list', '--json'], { env })).stdout) as { stories: unknown[] }).stories.length;
    expect(after).toBe(before);
  });

  it('exports a character as a PNG card and imports it into another story', async () => {
    const shown = JSON.parse((await runCli(['show', storyId, '--json'], { env })).stdout) as { characters: { id: string; name: string }[] };
    expect(shown.characters.length).toBeGreaterThan(0);
    const character = shown.characters[0]!;
    const png = path.join(dir, 'card.png');
    const exported = await runCli(['card', 'export', storyId, character.id, '--format', 'png', '--out', png], { env });
    expect(exported.code, exported.stderr).toBe(0);
    expect(fs.readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
    const other = JSON.parse((await runCli(['new', '--title', 'Elsewhere', '--setting', 'A desert caravan', '--json'], { env })).stdout) as {
      story: { id: string };
    };
    const imported = await runCli(['card', 'import', other.story.id, png, '--json'], { env });
    expect(imported.code, imported.stderr).toBe(0);
    const names = (JSON.parse((await runCli(['show', other.story.id, '--json'], { env })).stdout) as { characters: { name: string }[] }).characters.map((c) => c.name);
    expect(names).toContain(character.name);
  });
});
