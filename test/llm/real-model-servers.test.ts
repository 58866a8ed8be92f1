import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { createCapabilityStore } from '../../src/llm/model-capability-repo.js';
import type { ModelProvider } from '../../src/llm/provider.js';
import { createOllamaProvider } from '../../src/llm/providers/ollama.js';
import { createOpenAIProvider } from '../../src/llm/providers/openai.js';
import { createLoreEntry } from '../../src/memory/lore-repo.js';
import { talkToCharacter } from '../../src/characters/talk-to-character.js';
import { createStory } from '../../src/story/create-story.js';
import { getScenePrompt } from '../../src/story/scene-prompt-repo.js';
import { takeTurn } from '../../src/story/take-turn.js';
import { createEmbeddedTestDatabase } from '../helpers/db.js';
import { createTestEngine } from '../helpers/engine.js';
import { FakeOllama, FakeOpenAI, startFakeOllama, startFakeOpenAI } from '../helpers/fake-model-servers.js';
import { call, startTestServer } from '../server/test-server.js';

/**
 * Turns against stand-ins that behave like real model servers: Ollama cutting prompts longer
 * than num_ctx, llama.cpp publishing n_ctx and refusing what does not fit, reasoning models,
 * schema refusals, rate limits and answers cut off by their length.
 */

let db: Database;
let ollama: FakeOllama;
let openai: FakeOpenAI;
beforeAll(async () => {
  db = await createEmbeddedTestDatabase();
  ollama = await startFakeOllama();
  openai = await startFakeOpenAI();
});
afterAll(async () => {
  await ollama.close();
  await openai.close();
  await db.close();
});

const cast = ['Mara Vell', 'Bram Okonkwo', 'Ilse Varga', 'Tomas Reyes', 'Wren Halloway', 'Juno Ashby'];
const choices = ['Follow Mara along the quay', 'Ask about the missing boats', 'Climb to the lighthouse'];

/** A long scene with six characters, as a chatty model writes it. */
function longScene(call: number, extra: { thinking?: string } = {}): string {
  const prose = Array.from(
    { length: 14 },
    (_, i) => `Scene ${call}, part ${i + 1}: rain drives across the harbour while ${cast[i % cast.length]} argues with the ferryman about the tide tables, the broken lantern and the debt nobody will name.`,
  ).join(' ');
  const answer = JSON.stringify({
    scene: prose,
    choices,
    characters: cast.map((name, i) => ({
      name,
      role: 'present',
      importance: 0.5 + i / 20,
      description: `${name} is a harbour regular with a long memory, weathered hands and a habit of counting boats at dusk.`,
      personality: 'guarded, curious, stubborn about old promises',
      mood: i % 2 ? 'wary' : 'hopeful',
      thought: `What does the stranger want with the lighthouse, ${call}?`,
    })),
  });
  return extra.thinking ? `<think>${extra.thinking}</think>\n${answer}` : answer;
}

function ollamaProvider(model = 'llama3.2'): ModelProvider {
  return createOllamaProvider({ host: ollama.url, model, timeoutMs: 60_000, retryBaseDelayMs: 5, capabilityStore: createCapabilityStore(db) });
}

function openAIProvider(): ModelProvider {
  return createOpenAIProvider({ baseUrl: `${openai.url}/v1`, model: 'qwen2.5-7b-instruct', timeoutMs: 60_000, retryBaseDelayMs: 5, capabilityStore: createCapabilityStore(db) });
}

async function addLore(storyId: string): Promise<void> {
  for (const [i, title] of ['The Drowned Bell', 'Harbour Debts', 'Lighthouse Keepers', 'Tide Tables', 'The Ferryman'].entries()) {
    await createLoreEntry(db, {
      storyId,
      title,
      keywords: ['harbour', 'tide', 'lighthouse', 'ferryman', 'boats'].slice(i, i + 2),
      content: `${title}: ${'Old harbour lore that every sailor repeats, with names, dates and grudges attached. '.repeat(8)}`,
      embedding: null,
    });
  }
}

async function modelCallsOf(storyId: string): Promise<number[]> {
  const { rows } = await db.query<{ model_calls: number }>(`SELECT model_calls FROM turns WHERE story_id = $1 ORDER BY created_at`, [storyId]);
  return rows.map((row) => row.model_calls);
}

describe('an Ollama that cuts prompts longer than num_ctx (window 8192 from /api/show)', () => {
  it('sends num_ctx on every request, never above 8192, and no prompt is cut over 20 long turns', { timeout: 240_000 }, async () => {
    ollama.contextLength = 8192;
    ollama.chats.length = 0;
    ollama.reply({ textFor: (_body, call) => longScene(call) });
    const deps = createTestEngine(db, ollamaProvider());
    const { story } = await createStory(deps, { title: 'Harbour', setting: 'A storm-bound harbour town' });
    await addLore(story.id);
    for (let turn = 0; turn < 19; turn++) await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: (turn % 3) + 1 });

    expect(ollama.chats).toHaveLength(20);
    for (const chat of ollama.chats) {
      expect(chat.body.options.num_ctx).toBeDefined();
      expect(chat.contextTokens).toBeLessThanOrEqual(8192);
      expect(chat.truncated).toBe(false);
      expect(chat.promptTokens + chat.maxTokens!).toBeLessThanOrEqual(chat.contextTokens);
    }
    // The story grew well past the default 2048 context: without num_ctx it would have been cut.
    expect(Math.max(...ollama.chats.map((chat) => chat.promptTokens))).toBeGreaterThan(2048);
    const last = ollama.chats.at(-1)!.body.messages.at(-1).content as string;
    expect(last).toContain('## Characters in the story');
    expect(last).toContain('## Lore');
    expect(await modelCallsOf(story.id)).toEqual(Array(20).fill(1));
  });
});

describe('an OpenAI-compatible server publishing n_ctx 4096 at /props', () => {
  it('keeps prompt plus max_tokens within 4096 on every call', { timeout: 120_000 }, async () => {
    openai.nCtx = 4096;
    openai.chats.length = 0;
    openai.reply({ textFor: (_body, call) => longScene(call) });
    const deps = createTestEngine(db, openAIProvider());
    const { story } = await createStory(deps, { title: 'Harbour', setting: 'A storm-bound harbour town' });
    await addLore(story.id);
    for (let turn = 0; turn < 8; turn++) await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: (turn % 3) + 1 });
    expect(openai.chats).toHaveLength(9);
    for (const chat of openai.chats) expect(chat.promptTokens + chat.body.max_tokens).toBeLessThanOrEqual(4096);
    expect(Math.max(...openai.chats.map((chat) => chat.promptTokens))).toBeGreaterThan(1500);
  });
});

/** A talk request (the character answers in character), not a scene. */
function isTalk(body: any): boolean {
  return String(body.messages[0].content).includes('Answer the player in character');
}

const braceThinking = 'The player wants {"scene": "WRONG", "choices": ["x"]} maybe } { — let me plan the harbour scene first.';

describe('reasoning models', () => {
  const variants: { label: string; setup: () => ModelProvider }[] = [
    {
      label: '<think> inline in the content, split across chunks, braces inside',
      setup: () => {
        ollama.contextLength = 8192;
        ollama.reply({
          chunkChars: 3,
          textFor: (body, call) =>
            isTalk(body) ? `<think>${braceThinking}</think>\nAye, the tide turns at dusk.` : longScene(call, { thinking: braceThinking }),
        });
        return ollamaProvider();
      },
    },
    {
      label: 'reasoning_content in its own field (vLLM, llama.cpp)',
      setup: () => {
        openai.nCtx = 8192;
        openai.reply({ thinking: braceThinking, chunkChars: 5, textFor: (body, call) => (isTalk(body) ? 'Aye, the tide turns at dusk.' : longScene(call)) });
        return openAIProvider();
      },
    },
    {
      label: "Ollama's message.thinking",
      setup: () => {
        ollama.contextLength = 8192;
        ollama.reply({ thinking: braceThinking, textFor: (body, call) => (isTalk(body) ? 'Aye, the tide turns at dusk.' : longScene(call)) });
        return ollamaProvider();
      },
    },
  ];

  for (const variant of variants) {
    it(`keeps thinking out of scenes, choices, talk and streamed text: ${variant.label}`, { timeout: 60_000 }, async () => {
      const provider = variant.setup();
      const server = await startTestServer(db, { provider });
      try {
        const deps = server.ctx.runtime.deps;
        const { story } = await createStory(deps, { title: 'Thinking', setting: 'A storm-bound harbour town' });
        const streamed: string[] = [];
        const thinking: boolean[] = [];
        const result = await takeTurn(deps, {
          storyId: story.id,
          kind: 'advance',
          choiceNumber: 1,
          onText: (text) => streamed.push(text),
          onThinking: (active) => thinking.push(active),
        });
        // And over HTTP, as the web UI reads it.
        const sse = await fetch(`${server.url}/api/stories/${story.id}/turns`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
          body: JSON.stringify({ choice: 2 }),
        }).then((response) => response.text());
        const sseText = [...sse.matchAll(/^event: text\ndata: (.*)$/gm)].map((match) => JSON.parse(match[1]!).text).join('');

        for (const text of [result.scene.content, ...result.scene.choices.map((c) => c.content), streamed.join(''), sseText]) {
          expect(text).not.toMatch(/WRONG|let me plan|<\/?think/);
        }
        expect(streamed.join('')).toContain('Scene 2, part 1');
        expect(sseText).toContain('part 1');
        expect(sse).toContain('event: thinking');
        expect(thinking).toEqual([true, false]);
        expect(result.scene.choices.map((c) => c.content)).toEqual(choices);
        const { rows } = await db.query<{ raw_output: string }>(`SELECT raw_output FROM scenes WHERE story_id = $1 AND id = $2`, [story.id, result.scene.id]);
        expect(rows[0]!.raw_output).toContain('let me plan');
        expect(await modelCallsOf(story.id)).toEqual([1, 1, 1]);

        const { rows: people } = await db.query<{ id: string }>(`SELECT id FROM characters WHERE story_id = $1 LIMIT 1`, [story.id]);
        const talk = await talkToCharacter(deps, { characterId: people[0]!.id, message: 'When does the tide turn?' });
        expect(talk.reply).toBe('Aye, the tide turns at dusk.');
      } finally {
        await server.close();
      }
    });
  }
});

describe('a server that rejects JSON schemas with HTTP 400', () => {
  it('falls back to JSON mode once and remembers it for later turns and other processes', { timeout: 60_000 }, async () => {
    openai.nCtx = 8192;
    openai.chats.length = 0;
    openai.requests.length = 0;
    openai.reply({ rejectSchema: true, textFor: (_body, call) => longScene(call) });
    const deps = createTestEngine(db, openAIProvider());
    const { story } = await createStory(deps, { title: 'Schema', setting: 'A storm-bound harbour town' });
    expect(openai.requestsTo('/v1/chat/completions')).toHaveLength(2);
    await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 1 });
    // A provider with nothing in memory, as in another process, learns it from the database.
    const other = createTestEngine(db, openAIProvider(), { instanceId: 'another-process' });
    await takeTurn(other, { storyId: story.id, kind: 'advance', choiceNumber: 2 });
    const chats = openai.requestsTo('/v1/chat/completions');
    expect(chats).toHaveLength(4);
    expect(chats.map((r) => r.body.response_format?.type)).toEqual(['json_schema', 'json_object', 'json_object', 'json_object']);
    expect(await modelCallsOf(story.id)).toEqual([2, 1, 1]);
    const { rows } = await db.query(`SELECT structured_output FROM model_capabilities WHERE model = 'qwen2.5-7b-instruct'`);
    expect(rows).toEqual([{ structured_output: 'json_object' }]);
    await db.query(`DELETE FROM model_capabilities`);
  });
});

describe('a server that answers "context length exceeded"', () => {
  it('shortens the context and retries once, counting both calls on the turn', { timeout: 120_000 }, async () => {
    openai.nCtx = 4096;
    openai.reply({ textFor: (_body, call) => longScene(call) });
    const deps = createTestEngine(db, openAIProvider());
    const { story } = await createStory(deps, { title: 'Overflow', setting: 'A storm-bound harbour town' });
    await addLore(story.id);
    for (let turn = 0; turn < 3; turn++) await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 1 });
    openai.chats.length = 0;
    openai.reply({ overflowCalls: 1, textFor: (_body, call) => longScene(call + 10) });
    const result = await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 2 });

    expect(result.how).toBe('generated');
    expect(result.scene.content).toBe(JSON.parse(longScene(11)).scene);
    const [refused, retried] = openai.chats;
    expect(openai.chats).toHaveLength(2);
    // The retry is the same turn with less story in it: same system prompt, fewer tokens.
    expect(retried!.body.messages[0]).toEqual(refused!.body.messages[0]);
    expect(retried!.promptTokens).toBeLessThan(refused!.promptTokens * 0.95);
    expect((await modelCallsOf(story.id)).at(-1)).toBe(2);
    // What the prompt view shows is the request that was answered.
    expect((await getScenePrompt(db, story.id, result.scene.id)).messages).toEqual(retried!.body.messages);

    // Once only: a second refusal fails the turn with the server's reason and stores nothing.
    openai.chats.length = 0;
    openai.reply({ overflowCalls: 2, textFor: (_body, call) => longScene(call + 20) });
    const head = result.scene.id;
    await expect(takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 1 })).rejects.toMatchObject({ details: { contextOverflow: true } });
    expect(openai.chats).toHaveLength(2);
    expect((await modelCallsOf(story.id)).at(-1)).toBe(2);
    const { rows } = await db.query<{ head_scene_id: string }>(`SELECT head_scene_id FROM stories WHERE id = $1`, [story.id]);
    expect(rows[0]!.head_scene_id).toBe(head);
  });
});

describe('rate limits and cut-off answers', () => {
  it('waits out a 429 with Retry-After: 1 (lease kept alive) and counts both calls', { timeout: 60_000 }, async () => {
    ollama.contextLength = 8192;
    ollama.reply({ textFor: (_body, call) => longScene(call) });
    const deps = createTestEngine(db, ollamaProvider(), { leaseMs: 300 });
    const { story } = await createStory(deps, { title: 'Busy', setting: 'A storm-bound harbour town' });
    ollama.reply({ failWith: [429], retryAfter: '1', textFor: (_body, call) => longScene(call) });
    const started = Date.now();
    const result = await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(result.how).toBe('generated');
    expect(await modelCallsOf(story.id)).toEqual([1, 2]);
  });

  it('asks again with a larger allowance when the answer is cut off, and stores the whole scene', { timeout: 60_000 }, async () => {
    ollama.contextLength = 8192;
    ollama.chats.length = 0;
    ollama.reply({ cutOffCalls: 1, textFor: () => longScene(1) });
    const deps = createTestEngine(db, ollamaProvider());
    const { story, opening } = await createStory(deps, { title: 'Cut', setting: 'A storm-bound harbour town' });
    expect(opening.scene.content).toBe(JSON.parse(longScene(1)).scene);
    expect(ollama.chats).toHaveLength(2);
    expect(ollama.chats[1]!.maxTokens).toBeGreaterThan(ollama.chats[0]!.maxTokens!);
    expect(await modelCallsOf(story.id)).toEqual([2]);
  });
});

describe('the prompt route', () => {
  it('returns exactly the messages the server received, with window, num_ctx and tokens per section', { timeout: 60_000 }, async () => {
    ollama.contextLength = 8192;
    ollama.chats.length = 0;
    ollama.reply({ textFor: (_body, call) => longScene(call) });
    const server = await startTestServer(db, { provider: ollamaProvider() });
    try {
      const created = await call(server.url, 'POST', '/api/stories', { title: 'Prompt', setting: 'A storm-bound harbour town' });
      const turn = await call(server.url, 'POST', `/api/stories/${created.body.story.id}/turns`, { choice: 1 });
      const { status, body } = await call(server.url, 'GET', `/api/stories/${created.body.story.id}/scenes/${turn.body.scene.id}/prompt`);
      expect(status).toBe(200);
      const received = ollama.chats.at(-1)!.body;
      expect(body.prompt.messages).toEqual(received.messages);
      expect(body.prompt).toMatchObject({ provider: 'ollama', model: 'llama3.2', contextWindow: 8192, numCtx: received.options.num_ctx, maxTokens: received.options.num_predict, tokenizer: 'llama3' });
      expect(Object.keys(body.prompt.sections)).toEqual(expect.arrayContaining(['system', 'story', 'recentScenes', 'thisTurn', 'characters']));
      const missing = await call(server.url, 'GET', `/api/stories/${created.body.story.id}/scenes/not-a-scene/prompt`);
      expect(missing.status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
