import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { startFakeOllama, startFakeOpenAI, type FakeOllama, type FakeOpenAI } from '../helpers/fake-model-servers.js';
import { startServeProcess } from '../server/serve-process.js';
import { call } from '../server/test-server.js';

/**
 * The CLI and `serve` as separate processes against stand-ins for real model servers:
 * `doctor`, `prompt`, and a capability finding that one process learns and the others use.
 */

let database: TestServerDatabase;
let ollama: FakeOllama;
let openai: FakeOpenAI;
beforeAll(async () => {
  database = await createServerTestDatabase({ poolSize: 2 });
  ollama = await startFakeOllama();
  openai = await startFakeOpenAI();
});
afterAll(async () => {
  await ollama?.close();
  await openai?.close();
  await database?.drop();
});

const sceneAnswer = (call: number) =>
  JSON.stringify({
    scene: `Scene ${call}: fog rolls over the quay while Mara Vell counts the boats that did not come back.`,
    choices: ['Follow Mara', 'Ask about the boats', 'Climb to the lighthouse'],
    characters: [{ name: 'Mara Vell', role: 'present', importance: 0.8, description: 'a harbour pilot', mood: 'wary' }],
  });

const ollamaEnv = (extra: Record<string, string> = {}) => ({
  DATABASE_URL: database.url,
  LLM_PROVIDER: 'ollama',
  OLLAMA_HOST: ollama.url,
  OLLAMA_MODEL: 'llama3.2',
  EMBEDDINGS_PROVIDER: 'offline',
  ...extra,
});
const openAIEnv = () => ({
  DATABASE_URL: database.url,
  LLM_PROVIDER: 'openai',
  OPENAI_BASE_URL: `${openai.url}/v1`,
  OPENAI_MODEL: 'qwen2.5-7b-instruct',
  EMBEDDINGS_PROVIDER: 'offline',
});

async function cli(args: string[], env: Record<string, string>) {
  const result = await runCli(args, { env });
  expect(result.code, `livingworld ${args.join(' ')}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

describe('livingworld doctor', () => {
  it('against a good server: exit 0, with the window, schema support, streaming, reasoning and embedding dimension', { timeout: 60_000 }, async () => {
    ollama.contextLength = 8192;
    ollama.embeddingDimension = 8;
    ollama.reply({ thinking: 'The user wants ok true.', text: '{"ok": true}' });
    const result = await runCli(['doctor'], { env: ollamaEnv({ EMBEDDINGS_PROVIDER: 'ollama', EMBEDDINGS_MODEL: 'nomic-embed-text' }) });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(/✓ model\s+ollama llama3\.2/);
    expect(out).toMatch(/✓ context window\s+8192 tokens \(ollama \/api\/show context_length\)/);
    expect(out).toMatch(/✓ JSON schema\s+accepted/);
    expect(out).toMatch(/✓ streaming\s+\d+ pieces/);
    expect(out).toMatch(/✓ reasoning\s+the model thinks before it answers/);
    expect(out).toMatch(/✓ embedder\s+ollama\/nomic-embed-text, 8 dimensions/);
    expect(out).not.toMatch(/✗/);
    expect(out.trim().endsWith('Ready.')).toBe(true);

    const json = JSON.parse(await cli(['doctor', '--json'], ollamaEnv()));
    expect(json.ok).toBe(true);
    expect(json.findings.map((f: { check: string }) => f.check)).toEqual(expect.arrayContaining(['model', 'context window', 'JSON schema', 'streaming', 'reasoning', 'embedder']));
  });

  it('against a bad one: non-zero exit, and says what to change', { timeout: 60_000 }, async () => {
    // A window too small for a scene.
    ollama.contextLength = 2048;
    ollama.reply({ text: '{"ok": true}' });
    const small = await runCli(['doctor'], { env: ollamaEnv() });
    expect(small.code).toBe(7);
    expect(small.stdout).toMatch(/✗ context window\s+2048 tokens/);
    expect(small.stdout).toMatch(/→ A scene needs at least 3072 tokens: use a model with a larger window or raise LIVINGWORLD_CONTEXT_TOKENS/);
    expect(small.stdout).toMatch(/A turn would fail: fix the items marked ✗\./);

    // The model is not on the server.
    ollama.models = ['mistral:latest', 'nomic-embed-text:latest'];
    const absent = await runCli(['doctor', '--json'], { env: ollamaEnv() });
    ollama.models = ['llama3.2:latest', 'nomic-embed-text:latest'];
    expect(absent.code).toBe(7);
    const findings = JSON.parse(absent.stdout) as { ok: boolean; findings: { check: string; status: string; found: string }[] };
    expect(findings.ok).toBe(false);
    expect(findings.findings[0]).toMatchObject({ check: 'model', status: 'fail' });
    expect(findings.findings[0]!.found).toMatch(/no model "llama3\.2".*run `ollama pull llama3\.2` or set OLLAMA_MODEL to one of: mistral:latest/);

    // Nothing listening at all.
    const nowhere = await runCli(['doctor'], { env: ollamaEnv({ OLLAMA_HOST: 'http://127.0.0.1:9' }) });
    expect(nowhere.code).toBe(7);
    expect(nowhere.stdout).toMatch(/✗ model/);
    expect(nowhere.stdout).toMatch(/→ Start the model server or correct LLM_PROVIDER, OLLAMA_HOST\/OLLAMA_MODEL/);
  });
});

describe('livingworld prompt', () => {
  it('prints exactly what the server received, for the head scene or any scene, as text or JSON', { timeout: 90_000 }, async () => {
    ollama.contextLength = 8192;
    ollama.chats.length = 0;
    ollama.reply({ textFor: (_body, n) => sceneAnswer(n) });
    const created = JSON.parse(await cli(['new', '--title', 'Fog', '--setting', 'A harbour town in fog', '--json'], ollamaEnv()));
    const storyId = created.story.id as string;
    const openingId = created.scene.id as string;
    await cli(['advance', storyId, '2', '--instruction', 'ask who counts the boats', '--json'], ollamaEnv());
    expect(ollama.chats).toHaveLength(2);
    const [opening, second] = ollama.chats.map((chat) => chat.body);

    const head = JSON.parse(await cli(['prompt', storyId, '--json'], ollamaEnv()));
    expect(head.prompt.messages).toEqual(second.messages);
    expect(head.prompt).toMatchObject({ provider: 'ollama', model: 'llama3.2', contextWindow: 8192, numCtx: second.options.num_ctx, maxTokens: second.options.num_predict });
    const first = JSON.parse(await cli(['prompt', storyId, openingId, '--json'], ollamaEnv()));
    expect(first.sceneId).toBe(openingId);
    expect(first.prompt.messages).toEqual(opening.messages);

    const text = await cli(['prompt', storyId], ollamaEnv());
    expect(text).toContain(`num_ctx ${second.options.num_ctx}`);
    for (const message of second.messages as { role: string; content: string }[]) expect(text).toContain(`──── ${message.role} ────\n${message.content}\n`);

    const missing = await runCli(['prompt', storyId, '00000000-0000-4000-8000-000000000000'], { env: ollamaEnv() });
    expect(missing.code).toBe(4);
  });
});

describe('a JSON schema refused with 400', () => {
  it('is remembered in the database: a second CLI process and a serve process pay no failed call', { timeout: 120_000 }, async () => {
    await database.db.query('DELETE FROM model_capabilities');
    openai.nCtx = 8192;
    openai.requests.length = 0;
    openai.reply({ rejectSchema: true, textFor: (_body, n) => sceneAnswer(n) });
    const formats = () => openai.requestsTo('/v1/chat/completions').map((request) => request.body.response_format?.type);

    const created = JSON.parse(await cli(['new', '--title', 'Schema', '--setting', 'A harbour town in fog', '--json'], openAIEnv()));
    expect(formats()).toEqual(['json_schema', 'json_object']);
    const { rows } = await database.db.query(`SELECT structured_output FROM model_capabilities WHERE model = 'qwen2.5-7b-instruct'`);
    expect(rows).toEqual([{ structured_output: 'json_object' }]);

    // Another process, with nothing in memory: straight to JSON mode.
    await cli(['advance', created.story.id, '1', '--json'], openAIEnv());
    expect(formats()).toEqual(['json_schema', 'json_object', 'json_object']);

    // And a server process.
    const serve = await startServeProcess({ env: openAIEnv() });
    try {
      const turn = await call(serve.url, 'POST', `/api/stories/${created.story.id}/turns`, { choice: 2 });
      expect(turn.status).toBe(201);
    } finally {
      await serve.stop();
    }
    expect(formats()).toEqual(['json_schema', 'json_object', 'json_object', 'json_object']);
    const calls = await database.db.query<{ model_calls: number }>(`SELECT model_calls FROM turns WHERE story_id = $1 ORDER BY created_at`, [created.story.id]);
    expect(calls.rows.map((row) => row.model_calls)).toEqual([2, 1, 1]);
  });
});
