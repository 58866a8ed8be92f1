import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { createOpenAIProvider } from '../../src/llm/providers/openai.js';
import { importCharacterCard } from '../../src/io/import-character-card.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-model-servers.js';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../server/test-server.js';

/**
 * Through the HTTP API, with an OpenAI-compatible model server on 127.0.0.1 that records the
 * prompts it receives and answers scripted scenes: the world a prompt and the character
 * routes show follows the head across a rewind, and everyone the player names reaches the
 * storyteller, a card's character included.
 */
describe('the world over HTTP follows the head', () => {
  let database: TestServerDatabase;
  let db: Database;
  let model: FakeOpenAI;
  let server: TestServer;

  beforeAll(async () => {
    database = await createServerTestDatabase();
    db = database.db;
    model = await startFakeOpenAI();
    const provider = createOpenAIProvider({ baseUrl: `${model.url}/v1`, model: 'qwen2.5-7b-instruct', timeoutMs: 10_000, maxRetries: 0 });
    server = await startTestServer(db, { provider });
  });
  afterAll(async () => {
    await server.close();
    await model.close();
    await database.drop();
  });

  const scene = (text: string, characters: unknown[]) =>
    JSON.stringify({ scene: text, choices: ['Walk on', 'Ask a question', 'Wait'], characters });
  const lastPrompt = () => JSON.stringify(model.requests.filter((r) => r.path === '/v1/chat/completions').at(-1)?.body.messages ?? []);

  it('restores scene-2 trust and mood after a rewind, in the characters route and in the next prompt', async () => {
    model.script.text = scene('Mara Vell waits at the gate.', [
      { name: 'Mara Vell', role: 'present', mood: 'guarded', relationships: [{ target: 'player', trustDelta: 0.1 }] },
    ]);
    const created = await call(server.url, 'POST', '/api/stories', { title: 'Gates', setting: 'A walled town at dusk' });
    expect(created.status).toBe(201);
    const storyId: string = created.body.story.id;

    const turn = async (text: string, characters: unknown[]) => {
      model.script.text = scene(text, characters);
      const response = await call(server.url, 'POST', `/api/stories/${storyId}/turns`, { choice: 1 });
      expect(response.status).toBe(201);
      return response.body.scene;
    };
    const scene2 = await turn('Mara Vell lets you through.', [
      { name: 'Mara Vell', role: 'present', mood: 'calm', relationships: [{ target: 'player', trustDelta: 0.1 }] },
    ]);
    await turn('Mara Vell shares her bread. Osric Fenn, a smuggler, joins you.', [
      { name: 'Mara Vell', role: 'present', mood: 'warm', relationships: [{ target: 'player', trustDelta: 0.2 }] },
      { name: 'Osric Fenn', role: 'present', mood: 'sly', description: 'a smuggler with a silver tooth' },
    ]);
    await turn('Mara Vell trusts you with the key.', [
      { name: 'Mara Vell', role: 'present', mood: 'trusting', relationships: [{ target: 'player', trustDelta: 0.3 }] },
    ]);

    const mara = async (at?: string) => {
      const list = await call(server.url, 'GET', `/api/stories/${storyId}/characters${at ? `?at=${at}` : ''}`);
      expect(list.status).toBe(200);
      return { list: list.body.characters as any[], mara: (list.body.characters as any[]).find((c) => c.name === 'Mara Vell') };
    };
    const atHead = await mara();
    expect(atHead.mara.playerTrust).toBeCloseTo(0.7, 5);
    expect(atHead.mara.mood).toBe('trusting');
    expect(atHead.list.map((c) => c.name)).toContain('Osric Fenn');

    const rewound = await call(server.url, 'POST', `/api/stories/${storyId}/rewind`, { toSceneId: scene2.id });
    expect(rewound.status).toBe(200);
    const atScene2 = await mara();
    expect(atScene2.mara.playerTrust).toBeCloseTo(0.2, 5);
    expect(atScene2.mara.mood).toBe('calm');
    expect(atScene2.list.map((c) => c.name)).toEqual(['Mara Vell']);
    // The abandoned branch is still there to read.
    const detail = await call(server.url, 'GET', `/api/characters/${atHead.mara.id}?at=${scene2.id}`);
    expect(detail.body.character.mood).toBe('calm');
    // Osric was met only on the abandoned branch: a rename at this head is refused like a read, and changes nothing.
    const osric = atHead.list.find((c) => c.name === 'Osric Fenn');
    const { rows: [osricRow] } = await db.query<{ version: number }>('SELECT version FROM characters WHERE id = $1', [osric.id]);
    const renamed = await call(server.url, 'PATCH', `/api/characters/${osric.id}`, { name: 'Osric the Quiet' }, { 'if-match': `"${osricRow!.version}"` });
    expect(renamed.status).toBe(404);
    expect(renamed.body.error.message).toMatch(/Osric Fenn has not been met at the head/);
    const { rows: [osricAfter] } = await db.query<{ name: string; version: number }>('SELECT name, version FROM characters WHERE id = $1', [osric.id]);
    expect(osricAfter).toEqual({ name: 'Osric Fenn', version: osricRow!.version });
    const relationships = await call(server.url, 'GET', `/api/stories/${storyId}/relationships`);
    expect(relationships.body.edges).toEqual([expect.objectContaining({ from: atHead.mara.id, to: null, trust: expect.closeTo(0.2, 5) })]);

    await turn('Mara Vell points at the road.', [{ name: 'Mara Vell', role: 'present' }]);
    const prompt = lastPrompt();
    expect(prompt).toContain('trust in the player: 0.20');
    expect(prompt).toContain('mood: calm');
    expect(prompt).not.toContain('Osric');
    expect(prompt).not.toContain('silver tooth');
    const after = await mara();
    expect(after.list.map((c) => c.name)).toEqual(['Mara Vell']);
  });

  it('puts a card character the instruction names, with its description and scenario, into the prompt', async () => {
    model.script.text = scene('The forest is quiet.', []);
    const created = await call(server.url, 'POST', '/api/stories', { title: 'Glade', setting: 'An enchanted forest' });
    const storyId: string = created.body.story.id;
    const card = {
      spec: 'chara_card_v2',
      spec_version: '2.0',
      data: {
        name: 'Seraphina',
        description: 'A guardian of the glade with emerald eyes and a healer’s patience.',
        personality: 'gentle, protective',
        scenario: 'Shadowfang beasts roam the forest at night.',
        first_mes: 'You are safe here.',
        mes_example: '',
      },
    };
    await importCharacterCard(db, storyId, JSON.stringify(card), server.ctx.runtime.deps.embedder);
    model.script.text = scene('You find her by the spring.', []);
    const response = await call(server.url, 'POST', `/api/stories/${storyId}/turns`, { choice: 2, instruction: 'I ask Seraphina about the Shadowfang beasts' });
    expect(response.status).toBe(201);
    const prompt = lastPrompt();
    expect(prompt).toContain('A guardian of the glade with emerald eyes');
    expect(prompt).toContain('gentle, protective');
    expect(prompt).toContain('Shadowfang beasts roam the forest at night.');
  });
});
