import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseStoryArchive, type StoryArchive } from '../../src/io/index.js';
import { runCli } from '../helpers/cli.js';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../server/test-server.js';

/**
 * What the model was sent for each scene travels in a JSON export only when asked
 * (`--with-prompts`, `?withPrompts=true`), and an import of such a file keeps it.
 */

let database: TestServerDatabase;
let server: TestServer;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-prompt-export-'));
let storyId: string;

const cli = async (...args: string[]) => {
  const result = await runCli(args, { env: { DATABASE_URL: database.url, LLM_PROVIDER: 'offline', EMBEDDINGS_PROVIDER: 'offline' } });
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
};

beforeAll(async () => {
  database = await createServerTestDatabase({ poolSize: 2 });
  storyId = JSON.parse(await cli('new', '--title', 'Kept Prompts', '--setting', 'A lighthouse on a cold coast; you are the new keeper', '--json')).story.id;
  await cli('advance', storyId, '1', '--instruction', 'ask about the lamp', '--json');
  await cli('advance', storyId, '2', '--json');
  server = await startTestServer(database.db);
}, 120_000);
afterAll(async () => {
  await server?.close();
  await database?.drop();
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** Scene ids of the head path, first to last. */
async function headPathIds(id: string): Promise<string[]> {
  const tree = (await call(server.url, 'GET', `/api/stories/${id}/scenes`)).body;
  const parentOf = new Map<string, string | null>(tree.scenes.map((s: { id: string; parentSceneId: string | null }) => [s.id, s.parentSceneId]));
  const ids: string[] = [];
  for (let at: string | null | undefined = tree.headSceneId; at; at = parentOf.get(at)) ids.unshift(at);
  return ids;
}

async function promptsOf(id: string): Promise<unknown[]> {
  const prompts = [];
  for (const sceneId of await headPathIds(id)) {
    const answer = await call(server.url, 'GET', `/api/stories/${id}/scenes/${sceneId}/prompt`);
    expect(answer.status).toBe(200);
    prompts.push(answer.body.prompt);
  }
  return prompts;
}

/** The archive's prompts with the shared texts filled in, in head-path order. */
function promptsInArchive(archive: StoryArchive): { sceneNumber: number; messages: { role: string; content: string }[]; rest: object }[] {
  const texts = new Map((archive.prompt_texts ?? []).map((t) => [t.id, t.content]));
  const numberOf = new Map(archive.scenes.map((s) => [s.id, s.scene_number]));
  return (archive.scene_prompts ?? [])
    .map((p) => ({
      sceneNumber: numberOf.get(p.scene_id)!,
      messages: p.messages.map((m) => ('text_id' in m ? { role: m.role, content: texts.get(m.text_id)! } : m)),
      // As the prompt route names them.
      rest: {
        provider: p.provider,
        model: p.model,
        contextWindow: p.context_window,
        contextSource: p.context_source,
        numCtx: p.num_ctx,
        maxTokens: p.max_tokens,
        structuredOutput: p.structured_output,
        promptTokens: p.prompt_tokens,
        tokenizer: p.tokenizer,
        sections: p.sections,
      },
    }))
    .sort((a, b) => a.sceneNumber - b.sceneNumber);
}

describe('exports with and without the prompts', () => {
  it('leaves the prompts out unless asked, on the CLI and over HTTP', async () => {
    const plain = JSON.parse(await cli('export', storyId));
    expect(plain).not.toHaveProperty('scene_prompts');
    expect(plain).not.toHaveProperty('prompt_texts');
    const overHttp = await fetch(`${server.url}/api/stories/${storyId}/export`).then((r) => r.json());
    expect(overHttp).not.toHaveProperty('scene_prompts');
    // Markdown and Twee cannot carry them: asking is a clear 400 that exports nothing.
    const markdown = await call(server.url, 'GET', `/api/stories/${storyId}/export?format=md&withPrompts=true`);
    expect(markdown.status).toBe(400);
    expect(markdown.body.error.message).toMatch(/only in the JSON format/);
    const bad = await call(server.url, 'GET', `/api/stories/${storyId}/export?withPrompts=perhaps`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('withPrompts');
  });

  it('includes every scene prompt exactly as the prompt route gives it, and an import keeps them', { timeout: 120_000 }, async () => {
    const file = path.join(scratch, 'with-prompts.json');
    await cli('export', storyId, '--with-prompts', '--out', file);
    const archive = parseStoryArchive(JSON.parse(fs.readFileSync(file, 'utf8')));
    const original = await promptsOf(storyId);
    expect(original).toHaveLength(3);
    const inFile = promptsInArchive(archive);
    expect(inFile.map((p) => p.sceneNumber)).toEqual([1, 2, 3]);
    expect(inFile.map((p) => ({ ...p.rest, messages: p.messages }))).toEqual(original);
    // The system message, the same for every scene, is in the file once.
    expect(archive.prompt_texts!.length).toBeGreaterThanOrEqual(1);
    expect(archive.prompt_texts!.length).toBeLessThan(archive.scene_prompts!.length);

    // HTTP asks the same way and gets the same prompts.
    const overHttp = await fetch(`${server.url}/api/stories/${storyId}/export?withPrompts=true`).then((r) => r.json());
    expect(promptsInArchive(parseStoryArchive(overHttp))).toEqual(inFile);

    const imported = JSON.parse(await cli('import', file, '--json'));
    expect(imported.storyId).not.toBe(storyId);
    expect(await promptsOf(imported.storyId)).toEqual(original);
    // And back out again: the same prompts, scene for scene.
    const again = path.join(scratch, 'again.json');
    await cli('export', imported.storyId, '--with-prompts', '--out', again);
    expect(promptsInArchive(parseStoryArchive(JSON.parse(fs.readFileSync(again, 'utf8'))))).toEqual(inFile);
  });

  it('refuses a file whose prompt names a scene or a shared text that is not in it, and imports nothing', async () => {
    const archive = JSON.parse(await cli('export', storyId, '--with-prompts'));
    const before = (await database.db.query<{ n: string }>('SELECT count(*) AS n FROM stories')).rows[0]!.n;
    for (const [name, change] of [
      ['scene', (a: any) => (a.scene_prompts[0].scene_id = 'no-such-scene')],
      ['text', (a: any) => (a.scene_prompts[0].messages.find((m: any) => 'text_id' in m).text_id = 'no-such-text')],
    ] as const) {
      const broken = structuredClone(archive);
      change(broken);
      const file = path.join(scratch, `broken-${name}.json`);
      fs.writeFileSync(file, JSON.stringify(broken));
      const result = await runCli(['import', file], { env: { DATABASE_URL: database.url, LLM_PROVIDER: 'offline', EMBEDDINGS_PROVIDER: 'offline' } });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(name === 'scene' ? /scene_prompts\[0\]\.scene_id.*not in the file/ : /text_id.*not in the file/);
    }
    expect((await database.db.query<{ n: string }>('SELECT count(*) AS n FROM stories')).rows[0]!.n).toBe(before);
  });
});
