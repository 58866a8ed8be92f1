import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-model-servers.js';
import { neutralSceneJson, pngCardWithAssets } from '../io/card-builders.js';
import { readChunks } from '../io/png-reader.js';

const worldInfoFile = path.resolve('test/fixtures/cards/every-option.world-info.json');
let dir: string;
let env: NodeJS.ProcessEnv;
let model: FakeOpenAI;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-cards-'));
  model = await startFakeOpenAI();
  model.script = { ...model.script, text: neutralSceneJson };
  env = { LIVINGWORLD_DATA_DIR: path.join(dir, 'data'), DATABASE_URL: '', LLM_PROVIDER: 'openai', OPENAI_BASE_URL: `${model.url}/v1`, OPENAI_MODEL: 'qwen2.5-7b-instruct' };
});
afterAll(async () => {
  await model?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const chatCalls = () => model.requests.filter((r) => r.path === '/v1/chat/completions').length;

describe('cards and lore from the command line', () => {
  it('starts a story from a PNG card with no model call, and exports the card with the same image data', async () => {
    const { png } = pngCardWithAssets();
    const cardFile = path.join(dir, 'maren.png');
    fs.writeFileSync(cardFile, png);
    const created = await runCli(['new', '--card', cardFile, '--player', 'Ada', '--json'], { env, timeoutMs: 200_000 });
    expect(created.code, created.stderr).toBe(0);
    const result = JSON.parse(created.stdout) as { story: { id: string; playerName: string }; scene: { content: string }; characterId: string; warnings: string[] };
    expect(result.scene.content).toBe('*Maren Vos looks up from the lamp.* So you made it up the stairs, Ada. Maren Vos does not get many visitors, Ada.');
    expect(result.story.playerName).toBe('Ada');
    expect(result.warnings.join('\n')).toMatch(/not saved/);
    expect(chatCalls()).toBe(0);
    // The card's description keeps its macros when stored; `characters` shows the names.
    const listed = await runCli(['characters', result.story.id], { env, timeoutMs: 200_000 });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('Maren Vos keeps the lighthouse on Vell point; she calls Ada "the visitor".');

    const out = path.join(dir, 'out.png');
    const exported = await runCli(['card', 'export', result.story.id, result.characterId, '--format', 'png', '--out', out], { env, timeoutMs: 200_000 });
    expect(exported.code, exported.stderr).toBe(0);
    const idat = (file: Buffer) => Buffer.concat(readChunks(file).filter((c) => c.type === 'IDAT').map((c) => c.data));
    expect(idat(fs.readFileSync(out)).equals(idat(png))).toBe(true);
  }, 240_000);

  it('imports a World Info file and exports it back unchanged, refusing a card in its place', async () => {
    const created = await runCli(['new', '--title', 'Vell', '--setting', 'A lighthouse town in fog', '--json'], { env, timeoutMs: 200_000 });
    expect(created.code, created.stderr).toBe(0);
    const storyId = (JSON.parse(created.stdout) as { story: { id: string } }).story.id;
    const imported = await runCli(['lore', 'import', storyId, worldInfoFile, '--json'], { env, timeoutMs: 200_000 });
    expect(imported.code, imported.stderr).toBe(0);
    expect((JSON.parse(imported.stdout) as { loreEntryIds: string[] }).loreEntryIds).toHaveLength(38);
    const out = path.join(dir, 'book.json');
    const exported = await runCli(['lore', 'export', storyId, '--out', out], { env, timeoutMs: 200_000 });
    expect(exported.code, exported.stderr).toBe(0);
    expect(JSON.parse(fs.readFileSync(out, 'utf8'))).toEqual(JSON.parse(fs.readFileSync(worldInfoFile, 'utf8')));

    const wrong = await runCli(['lore', 'import', storyId, path.join(dir, 'maren.png')], { env, timeoutMs: 200_000 });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/PNG image.*livingworld new --card.*World Info/);

    const added = await runCli(
      ['lore', 'add', storyId, '--title', 'Hum', '--content', 'The keeper hums.', '--keywords', 'hum', '--secondary-keywords', 'song', '--logic', 'not-any', '--position', 'at-depth', '--depth', '2', '--no-whole-words',
       '--role', 'user', '--group', 'hums', '--group-weight', '30', '--prioritize', '--sticky', '2', '--cooldown', '1', '--delay', '3',
       '--prevent-recursion', '--delay-until-recursion', '1', '--ignore-budget', '--json'],
      { env, timeoutMs: 200_000 },
    );
    expect(added.code, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout).entry).toMatchObject({ secondaryKeywords: ['song'], selectiveLogic: 'not_any', position: 'at_depth', depth: 2, matchWholeWords: false, caseSensitive: false });
    expect(JSON.parse(added.stdout).entry).toMatchObject({
      depthRole: 'user',
      inclusionGroup: 'hums',
      groupWeight: 30,
      groupOverride: true,
      sticky: 2,
      cooldown: 1,
      delay: 3,
      preventRecursion: true,
      excludeRecursion: false,
      delayUntilRecursion: 1,
      ignoreBudget: true,
    });
    const anTop = await runCli(['lore', 'add', storyId, '--title', 'Top', '--content', 'Opens the note.', '--position', 'author-note-top', '--json'], { env, timeoutMs: 200_000 });
    expect(anTop.code, anTop.stderr).toBe(0);
    expect(JSON.parse(anTop.stdout).entry.position).toBe('author_note_top');
    const badRole = await runCli(['lore', 'add', storyId, '--title', 'X', '--content', 'Y', '--role', 'narrator'], { env, timeoutMs: 200_000 });
    expect(badRole.code).not.toBe(0);
    expect(badRole.stderr).toMatch(/depthRole must be one of system, user, assistant/);
    const bad = await runCli(['lore', 'add', storyId, '--title', 'X', '--content', 'Y', '--probability', '140'], { env, timeoutMs: 200_000 });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/probability must be 0 to 100/);
  }, 300_000);
});
