import fs from 'node:fs';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import type { FakeOpenAI } from '../helpers/fake-model-servers.js';
import { call, startRecordingModelServer, type RecordingModelServer, type TestServer } from './test-server.js';
import { charxCard, neutralSceneJson, pngCardWithAssets, storyCardV3 } from '../io/card-builders.js';
import { decodeText, readChunks } from '../io/png-reader.js';

const worldInfoFile = 'test/fixtures/cards/every-option.world-info.json';
const worldInfo = JSON.parse(fs.readFileSync(worldInfoFile, 'utf8')) as { entries: Record<string, unknown> };

let db: Database;
let model: FakeOpenAI;
let server: TestServer;
let recording: RecordingModelServer;

beforeAll(async () => {
  recording = await startRecordingModelServer(neutralSceneJson);
  ({ db, model, server } = recording);
});
afterAll(async () => {
  await recording?.close();
});

/** Every chat request the model server saw, as one prompt text each. */
const chatPrompts = () =>
  model.requests.filter((r) => r.path === '/v1/chat/completions').map((r) => (r.body.messages as { content: string }[]).map((m) => m.content).join('\n\n'));
const scenePrompts = () => chatPrompts().filter((prompt) => prompt.includes('## This turn'));

async function postRaw(path: string, body: Buffer, contentType = 'application/octet-stream') {
  const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: response.status, body: (await response.json()) as any };
}

async function getBytes(path: string): Promise<{ status: number; type: string | null; bytes: Buffer }> {
  const response = await fetch(`${server.url}${path}`);
  return { status: response.status, type: response.headers.get('content-type'), bytes: Buffer.from(await response.arrayBuffer()) };
}

async function newStory(): Promise<string> {
  const created = await call(server.url, 'POST', '/api/stories', { title: 'Vell', setting: 'A lighthouse town in fog.' });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.story.id as string;
}

/**
 * Every field of a current SillyTavern World Info entry (public/scripts/world-info.js,
 * newWorldInfoEntryDefinition, plus uid, displayIndex and the saved characterFilter) with
 * the value a new entry gets there: the fixture must set each one to something else somewhere.
 */
const sillyTavernEntryDefaults: Record<string, unknown> = {
  uid: undefined, key: [], keysecondary: [], comment: '', content: '', constant: false, vectorized: false, selective: true,
  selectiveLogic: 0, addMemo: false, order: 100, position: 0, disable: false, ignoreBudget: false, excludeRecursion: false,
  preventRecursion: false, matchPersonaDescription: false, matchCharacterDescription: false, matchCharacterPersonality: false,
  matchCharacterDepthPrompt: false, matchScenario: false, matchCreatorNotes: false, delayUntilRecursion: 0, probability: 100,
  useProbability: true, depth: 4, outletName: '', group: '', groupOverride: false, groupWeight: 100, scanDepth: null,
  caseSensitive: null, matchWholeWords: null, useGroupScoring: null, automationId: '', role: 0, sticky: null, cooldown: null,
  delay: null, triggers: [], displayIndex: undefined, characterFilter: undefined,
};

describe('SillyTavern World Info over HTTP', () => {
  it('has a fixture that sets every field a current SillyTavern entry has', () => {
    const entries = Object.values(worldInfo.entries) as Record<string, unknown>[];
    const unset = Object.entries(sillyTavernEntryDefaults)
      .filter(([field, fallback]) => !entries.some((entry) => field in entry && JSON.stringify(entry[field]) !== JSON.stringify(fallback)))
      .map(([field]) => field);
    expect(unset).toEqual([]);
  });

  it('imports a book covering every option and exports it back equal on every field', async () => {
    const storyId = await newStory();
    const imported = await postRaw(`/api/stories/${storyId}/lore/import`, fs.readFileSync(worldInfoFile), 'application/json');
    expect(imported.status, JSON.stringify(imported.body)).toBe(201);
    expect(imported.body.loreEntryIds).toHaveLength(38); // entry 17 has no content: kept for export only
    const notes = (imported.body.notes as string[]).join('\n');
    expect(notes).toMatch(/Entry "17".*no content/);
    expect(notes).toMatch(/\/\(x\)\\1\/ cannot be run safely/);
    expect(notes).toMatch(/Entry "38".*outlet/);
    expect(notes).toMatch(/automation ids \(1 entry\)/);
    expect(notes).toMatch(/character filters \(1 entry\)/);
    expect(notes).not.toMatch(/sticky|inclusion groups|recursion/); // these act now

    const exported = await call(server.url, 'GET', `/api/stories/${storyId}/lore/export`);
    expect(exported.status).toBe(200);
    expect(exported.headers.get('content-disposition')).toMatch(/world-info\.json/);
    expect(exported.body).toEqual(worldInfo);

    // Imported entries are embedded at once: every one has a vector.
    const { rows } = await db.query<{ missing: string }>('SELECT count(*) AS missing FROM lore_entries WHERE story_id = $1 AND embedding IS NULL', [storyId]);
    expect(Number(rows[0]!.missing)).toBe(0);

    // A story archive carries the options and the player name: its copy exports the same book.
    await call(server.url, 'PATCH', `/api/stories/${storyId}`, { playerName: 'Ada' });
    const archive = await call(server.url, 'GET', `/api/stories/${storyId}/export?format=json`);
    const copy = await postRaw('/api/import', Buffer.from(JSON.stringify(archive.body)), 'application/json');
    expect(copy.status, JSON.stringify(copy.body)).toBe(201);
    const copied = await call(server.url, 'GET', `/api/stories/${copy.body.storyId}`);
    expect(copied.body.story.playerName).toBe('Ada');
    expect((await call(server.url, 'GET', `/api/stories/${copy.body.storyId}/lore/export`)).body).toEqual(worldInfo);
  });

  it('writes back only what was edited, and adds hand-made lore as complete entries', async () => {
    const storyId = await newStory();
    await postRaw(`/api/stories/${storyId}/lore/import`, fs.readFileSync(worldInfoFile), 'application/json');
    const { body } = await call(server.url, 'GET', `/api/stories/${storyId}/lore`);
    const tower = (body.entries as any[]).find((e) => e.title === 'Tower');
    expect(tower).toMatchObject({ keywords: ['tower'], secondaryKeywords: ['storm', 'night'], selectiveLogic: 'not_all' });
    const edited = await call(
      server.url,
      'PATCH',
      `/api/stories/${storyId}/lore/${tower.id}`,
      { selectiveLogic: 'and_all', probability: 40, sticky: 3, position: 'author_note_bottom', inclusionGroup: 'towers' },
      { 'if-match': `"${tower.version}"` },
    );
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    const added = await call(server.url, 'POST', `/api/stories/${storyId}/lore`, {
      title: 'Hand-made',
      content: 'HAND: the keeper hums.',
      keywords: ['hum'],
      secondaryKeywords: ['song'],
      selectiveLogic: 'not_any',
      position: 'at_depth',
      depth: 2,
      constant: false,
      insertionOrder: 7,
      caseSensitive: true,
      matchWholeWords: false,
      scanDepth: 1,
      depthRole: 'assistant',
      inclusionGroup: 'hums',
      groupWeight: 7,
      cooldown: 2,
      delayUntilRecursion: 2,
    });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    const bad = await call(server.url, 'POST', `/api/stories/${storyId}/lore`, { title: 'x', content: 'y', selectiveLogic: 'sometimes' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/selectiveLogic must be one of and_any, not_all, not_any, and_all/);

    const exported = (await call(server.url, 'GET', `/api/stories/${storyId}/lore/export`)).body;
    const original = worldInfo.entries as Record<string, any>;
    expect(exported.entries['3']).toEqual({ ...original['3'], selectiveLogic: 3, probability: 40, useProbability: true, sticky: 3, position: 3, group: 'towers' });
    for (const key of Object.keys(original).filter((k) => k !== '3')) expect(exported.entries[key]).toEqual(original[key]);
    const next = String(Object.keys(original).length);
    expect(exported.entries[next]).toMatchObject({
      uid: Number(next),
      role: 2,
      group: 'hums',
      groupWeight: 7,
      cooldown: 2,
      delayUntilRecursion: 2,
      key: ['hum'],
      keysecondary: ['song'],
      selective: true,
      selectiveLogic: 2,
      position: 4,
      depth: 2,
      order: 7,
      caseSensitive: true,
      matchWholeWords: false,
      scanDepth: 1,
      comment: 'Hand-made',
      content: 'HAND: the keeper hums.',
      disable: false,
    });
  });

  it('refuses a file that is not a lorebook, saying what it is and what is accepted', async () => {
    const storyId = await newStory();
    const card = await postRaw(`/api/stories/${storyId}/lore/import`, Buffer.from(JSON.stringify(storyCardV3())), 'application/json');
    expect(card.status).toBe(400);
    expect(card.body.error.message).toMatch(/character card \(chara_card_v3\) for "Maren Vos".*World Info/);
    const png = await postRaw(`/api/stories/${storyId}/lore/import`, pngCardWithAssets().png, 'image/png');
    expect(png.body.error.message).toMatch(/PNG image.*World Info/);
    const archive = await call(server.url, 'GET', `/api/stories/${storyId}/export?format=json`);
    const story = await postRaw(`/api/stories/${storyId}/lore/import`, Buffer.from(JSON.stringify(archive.body)), 'application/json');
    expect(story.body.error.message).toMatch(/LivingWorld story export.*livingworld import/);
    const { body } = await call(server.url, 'GET', `/api/stories/${storyId}/lore`);
    expect(body.entries).toEqual([]);
  });
});

describe('lore in the prompts the model is sent', () => {
  it('puts constant entries in every prompt, selective ones only when their logic holds, empty keys nowhere, and no macros', async () => {
    const storyId = await newStory();
    await postRaw(`/api/stories/${storyId}/lore/import`, fs.readFileSync(worldInfoFile), 'application/json');
    const before = scenePrompts().length;
    const instructions = ['light the lamp', 'fill the lamp with oil', 'open the gate', 'shout at the guard by the gate'];
    for (const instruction of instructions) {
      const turn = await call(server.url, 'POST', `/api/stories/${storyId}/turns`, { choice: 1, instruction });
      expect(turn.status, JSON.stringify(turn.body)).toBe(201);
    }
    const prompts = scenePrompts().slice(before);
    expect(prompts).toHaveLength(instructions.length);
    for (const prompt of prompts) {
      expect(prompt).toContain('CONSTANT-SKY');
      expect(prompt).not.toContain('EMPTYKEY-BELL'); // no prompt holds the words "sunken bell of Orrin"
      expect(prompt).not.toContain('DISABLED-LAMP');
      expect(prompt).not.toContain('PROB-ZERO');
      expect(prompt).not.toMatch(/\{\{(char|user)\}\}|<BOT>|<USER>/i);
    }
    const [lampOnly, lampOil, gate, gateGuard] = prompts as [string, string, string, string];
    expect(lampOnly).not.toContain('SEL-ANDANY');
    expect(lampOil).toContain('SEL-ANDANY');
    expect(gate).toContain('SEL-NOTANY');
    expect(gateGuard).not.toContain('SEL-NOTANY');
    // Placement: after the character section, and among the recent scenes at its depth.
    expect(lampOnly.indexOf('AFTER-LAMP')).toBeGreaterThan(lampOnly.indexOf('## Lore'));
    const recent = lampOnly.slice(lampOnly.indexOf('## Recent scenes'));
    expect(recent).toContain('DEPTH-LAMP');
  });
});

describe('stories from character cards over HTTP', () => {
  it('opens a PNG card with its first_mes (macros replaced) and switches to alternate greetings, with no model call', async () => {
    const calls = chatPrompts().length;
    const { png } = pngCardWithAssets();
    const created = await postRaw('/api/cards?playerName=Ada', png, 'image/png');
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.scene.content).toBe('*Maren Vos looks up from the lamp.* So you made it up the stairs, Ada. Maren Vos does not get many visitors, Ada.');
    expect(created.body.story).toMatchObject({ title: 'Maren Vos', playerName: 'Ada', setting: storyCardV3().data.scenario });
    const warnings = (created.body.warnings as string[]).join('\n');
    expect(warnings).toMatch(/"bg".*link.*not downloaded/);
    expect(warnings).toMatch(/"missing" \(__asset:7\) is not in the file, so it was not saved/);
    const storyId = created.body.story.id as string;

    const second = await call(server.url, 'POST', `/api/stories/${storyId}/regenerate`, {});
    expect(second.status, JSON.stringify(second.body)).toBe(201);
    expect(second.body.scene.content).toBe('*The door creaks.* Maren Vos does not turn around. "Mind the step, Ada."');
    const third = await call(server.url, 'POST', `/api/stories/${storyId}/regenerate`, {});
    expect(third.body.scene.content).toBe('GREETING-THREE: Maren Vos is asleep by the lamp when Ada arrives.');
    expect(chatPrompts().length).toBe(calls);

    // The character holds the card's fields; the stored card keeps its macros.
    const characters = await call(server.url, 'GET', `/api/stories/${storyId}/characters`);
    const maren = (characters.body.characters as any[]).find((c) => c.name === 'Maren Vos');
    expect(maren).toBeDefined();
    const detail = await call(server.url, 'GET', `/api/characters/${maren.id}`);
    expect(JSON.stringify(detail.body)).toContain('{{char}} keeps the lighthouse');
    expect(JSON.stringify(detail.body)).toContain('Patient, dry humour');

    // The next scene is the model's: the card's system prompt, history instructions and voice are in it.
    const turn = await call(server.url, 'POST', `/api/stories/${storyId}/turns`, { choice: 1, instruction: 'ask about the lamp' });
    expect(turn.status, JSON.stringify(turn.body)).toBe(201);
    const prompt = scenePrompts().at(-1)!;
    expect(prompt).toContain('CARD-SYSTEM: you narrate for Maren Vos.');
    expect(prompt).toMatch(/CARD-SYSTEM: you narrate for Maren Vos\. \S/); // {{original}} became our own system prompt
    expect(prompt).toContain('POST-HISTORY: keep Maren Vos dry and brief.');
    expect(prompt).toContain('VOICE-EXAMPLE');
    expect(prompt).toContain('CARD-CONSTANT');
    expect(prompt).toContain('CARD-LAMP');
    expect(prompt).not.toContain('CARD-GULL');
    expect(prompt).not.toMatch(/\{\{(char|user|original)\}\}|<BOT>|<USER>/i);
    expect(prompt).toContain("The player's character is Ada");

    // Talking to the card's character: its description's macros are replaced there too.
    const talk = await call(server.url, 'POST', `/api/characters/${maren.id}/talk`, { message: 'Hello there.' });
    expect(talk.status, JSON.stringify(talk.body)).toBe(200);
    const talkPrompt = chatPrompts().at(-1)!;
    expect(talkPrompt).toContain('Maren Vos keeps the lighthouse on Vell point; she calls Ada "the visitor".');
    expect(talkPrompt).not.toMatch(/\{\{(char|user)\}\}|<BOT>|<USER>/i);
  });

  it('exports a PNG card with the same image data and assets, and serves the art as the avatar', async () => {
    const { png, assetBytes, card } = pngCardWithAssets();
    const created = await postRaw('/api/cards', png, 'image/png');
    expect(created.status).toBe(201);
    const characterId = created.body.characterId as string;

    const avatar = await getBytes(`/api/characters/${characterId}/avatar`);
    expect(avatar.status).toBe(200);
    expect(avatar.type).toBe('image/png');
    expect(avatar.bytes.equals(png)).toBe(true);

    const exported = await getBytes(`/api/characters/${characterId}/card?format=png`);
    expect(exported.status).toBe(200);
    const before = readChunks(png);
    const after = readChunks(exported.bytes);
    const imageChunks = (chunks: typeof before) => chunks.filter((c) => c.type !== 'tEXt');
    expect(imageChunks(after).map((c) => [c.type, c.data.toString('hex')])).toEqual(imageChunks(before).map((c) => [c.type, c.data.toString('hex')]));
    const texts = new Map(after.filter((c) => c.type === 'tEXt').map((c) => [decodeText(c).keyword, decodeText(c).text]));
    expect(Buffer.from(texts.get('chara-ext-asset_:0')!, 'base64').equals(assetBytes[0]!)).toBe(true);
    expect(Buffer.from(texts.get('chara-ext-asset_:1')!, 'base64').equals(assetBytes[1]!)).toBe(true);
    const v3 = JSON.parse(Buffer.from(texts.get('ccv3')!, 'base64').toString('utf8'));
    expect(v3.data.assets).toEqual(card.data.assets);
    expect(v3.data.first_mes).toBe(storyCardV3().data.first_mes);
    expect(v3.data.character_book.entries).toEqual(storyCardV3().data.character_book.entries);
    expect(texts.has('chara')).toBe(true);
  });

  it('imports a CHARX and exports it with the same files under the same paths', async () => {
    const { zip, files } = charxCard();
    const created = await postRaw('/api/cards', zip, 'application/zip');
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const characterId = created.body.characterId as string;
    const avatar = await getBytes(`/api/characters/${characterId}/avatar`);
    expect(avatar.bytes.equals(files['assets/icon/images/main.png']!)).toBe(true);

    const exported = await getBytes(`/api/characters/${characterId}/card?format=charx`);
    const unzipped = unzipSync(new Uint8Array(exported.bytes));
    for (const [path, data] of Object.entries(files)) expect(Buffer.from(unzipped[path]!).equals(data), path).toBe(true);
    const card = JSON.parse(Buffer.from(unzipped['card.json']!).toString('utf8'));
    expect(card.spec).toBe('chara_card_v3');
    expect(card.data.assets).toEqual(storyCardV3([
      { type: 'icon', uri: 'embeded://assets/icon/images/main.png', name: 'main', ext: 'png' },
      { type: 'emotion', uri: 'embeded://assets/emotion/images/smile.webp', name: 'smile', ext: 'webp' },
    ]).data.assets);

    // And a PNG card out of it: the CHARX's main icon is the image.
    const png = await getBytes(`/api/characters/${characterId}/card?format=png`);
    const icon = readChunks(files['assets/icon/images/main.png']!).find((c) => c.type === 'IDAT')!;
    expect(readChunks(png.bytes).find((c) => c.type === 'IDAT')!.data.equals(icon.data)).toBe(true);
  });

  it('keeps every card file byte for byte through a story export and import (PNG with V3 assets, CHARX)', async () => {
    const { png, assetBytes } = pngCardWithAssets();
    const { zip, files } = charxCard();
    for (const [body, type] of [
      [png, 'image/png'],
      [zip, 'application/zip'],
    ] as const) {
      const created = await postRaw('/api/cards', body, type);
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const storyId = created.body.story.id as string;
      const { rows: stored } = await db.query<{ kind: string; uri: string; data: Buffer }>(
        'SELECT kind, uri, data FROM character_assets WHERE story_id = $1 ORDER BY position, uri',
        [storyId],
      );
      expect(stored.length).toBeGreaterThan(1);

      const archive = await call(server.url, 'GET', `/api/stories/${storyId}/export?format=json`);
      expect(archive.body.character_assets).toHaveLength(stored.length);
      const copy = await postRaw('/api/import', Buffer.from(JSON.stringify(archive.body)), 'application/json');
      expect(copy.status, JSON.stringify(copy.body)).toBe(201);
      const copyId = copy.body.storyId as string;
      const { rows: copied } = await db.query<{ kind: string; uri: string; data: Buffer }>(
        'SELECT kind, uri, data FROM character_assets WHERE story_id = $1 ORDER BY position, uri',
        [copyId],
      );
      expect(copied.map((a) => [a.kind, a.uri, a.data.toString('hex')])).toEqual(stored.map((a) => [a.kind, a.uri, a.data.toString('hex')]));

      // The copy's character serves the same avatar and exports the same card files.
      const characters = await call(server.url, 'GET', `/api/stories/${copyId}/characters`);
      const maren = (characters.body.characters as any[]).find((c) => c.name === 'Maren Vos');
      const avatar = await getBytes(`/api/characters/${maren.id}/avatar`);
      expect(avatar.bytes.equals(type === 'image/png' ? png : files['assets/icon/images/main.png']!)).toBe(true);
      if (type === 'image/png') {
        const exported = readChunks((await getBytes(`/api/characters/${maren.id}/card?format=png`)).bytes);
        const texts = new Map(exported.filter((c) => c.type === 'tEXt').map((c) => [decodeText(c).keyword, decodeText(c).text]));
        expect(Buffer.from(texts.get('chara-ext-asset_:0')!, 'base64').equals(assetBytes[0]!)).toBe(true);
        expect(exported.find((c) => c.type === 'IDAT')!.data.equals(readChunks(png).find((c) => c.type === 'IDAT')!.data)).toBe(true);
      } else {
        const unzipped = unzipSync(new Uint8Array((await getBytes(`/api/characters/${maren.id}/card?format=charx`)).bytes));
        for (const [path, data] of Object.entries(files)) expect(Buffer.from(unzipped[path]!).equals(data), path).toBe(true);
      }

      // And the copy exports the same archive again (ids aside).
      const again = await call(server.url, 'GET', `/api/stories/${copyId}/export?format=json`);
      const withoutIds = (assets: any[]) => assets.map(({ id: _id, character_id: _character, ...rest }) => rest);
      expect(withoutIds(again.body.character_assets)).toEqual(withoutIds(archive.body.character_assets));
    }

    // A file whose asset names a character it does not hold is refused, naming the path.
    const storyId = (await postRaw('/api/cards', png, 'image/png')).body.story.id as string;
    const archive = (await call(server.url, 'GET', `/api/stories/${storyId}/export?format=json`)).body;
    const dangling = { ...archive, character_assets: [{ ...archive.character_assets[0], character_id: 'nobody' }] };
    const refused = await postRaw('/api/import', Buffer.from(JSON.stringify(dangling)), 'application/json');
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/character_assets\[0\]\.character_id/);
    const badData = { ...archive, character_assets: [{ ...archive.character_assets[0], data: 'not base64!' }] };
    const refusedData = await postRaw('/api/import', Buffer.from(JSON.stringify(badData)), 'application/json');
    expect(refusedData.status).toBe(400);
    expect(refusedData.body.error.message).toMatch(/character_assets\[0\]\.data.*base64/);
  });

  it('opens a story from a V2 card given as JSON, with the player named at creation and renamed later', async () => {
    const v2 = { spec: 'chara_card_v2', spec_version: '2.0', data: { ...storyCardV3().data, assets: undefined } };
    const calls = chatPrompts().length;
    const created = await call(server.url, 'POST', '/api/stories', { card: v2, playerName: 'Bram' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.scene.content).toContain('So you made it up the stairs, Bram.');
    expect(chatPrompts().length).toBe(calls);
    const storyId = created.body.story.id as string;
    const renamed = await call(server.url, 'PATCH', `/api/stories/${storyId}`, { playerName: 'Cato' });
    expect(renamed.body.story.playerName).toBe('Cato');
    const regenerated = await call(server.url, 'POST', `/api/stories/${storyId}/regenerate`, {});
    expect(regenerated.body.scene.content).toContain('Mind the step, Cato.');
    const empty = await call(server.url, 'PATCH', `/api/stories/${storyId}`, { playerName: '   ' });
    expect(empty.status).toBe(400);
    const v1 = await call(server.url, 'POST', '/api/stories', { card: { name: 'Old Tom', description: 'A fisher.', first_mes: 'Hello, {{user}}.' } });
    expect(v1.status, JSON.stringify(v1.body)).toBe(201);
    expect(v1.body.scene.content).toBe('Hello, you.');
  });
});
