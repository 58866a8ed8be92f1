import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import { listOllamaModels, pullOllamaModel, type PullProgress } from '../../src/llm/pull-model.js';
import { FakeOllama, startFakeOllama, unusedLocalUrl } from '../helpers/fake-model-servers.js';

describe('Ollama model management', () => {
  let ollama: FakeOllama;

  beforeEach(async () => {
    ollama = await startFakeOllama();
  });

  afterEach(async () => {
    await ollama.close();
  });

  it('lists installed models in the order Ollama gives them', async () => {
    ollama.models = ['mistral:7b', 'llama3.2:latest'];
    expect(await listOllamaModels(ollama.url)).toEqual(['mistral:7b', 'llama3.2:latest']);
  });

  it('fails listing with llm_unavailable naming the host when nothing listens', async () => {
    const url = await unusedLocalUrl();
    const error = await listOllamaModels(url).catch((e: unknown) => e);
    expect(isAppError(error, 'llm_unavailable')).toBe(true);
    expect((error as Error).message).toContain(url);
  });

  it('gives up listing after its timeout', async () => {
    ollama.reply({ delayMs: 3_000 });
    const started = Date.now();
    const error = await listOllamaModels(ollama.url, { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(isAppError(error, 'llm_unavailable')).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('streams pull progress until success, after which the model is listed', async () => {
    const progress: PullProgress[] = [];
    await pullOllamaModel(ollama.url, 'qwen2.5', (p) => progress.push(p));
    expect(progress[0]).toEqual({ status: 'pulling manifest' });
    expect(progress.filter((p) => p.total === 1000).map((p) => p.completed)).toEqual([0, 500, 1000]);
    expect(progress.at(-1)).toEqual({ status: 'success' });
    expect(ollama.requestsTo('/api/pull')[0]?.body).toMatchObject({ model: 'qwen2.5', stream: true });
    expect(await listOllamaModels(ollama.url)).toContain('qwen2.5:latest');
  });

  it('reports an error line in the pull stream as llm_unavailable', async () => {
    ollama.reply({ fault: 'malformed' });
    const error = await pullOllamaModel(ollama.url, 'no-such-model', () => {}).catch((e: unknown) => e);
    expect(isAppError(error, 'llm_unavailable')).toBe(true);
    expect((error as Error).message).toMatch(/could not pull "no-such-model"/);
  });

  it('stops a pull when the signal aborts', async () => {
    ollama.reply({ fault: 'stall-mid-stream' });
    const controller = new AbortController();
    const error = await pullOllamaModel(ollama.url, 'qwen2.5', () => controller.abort(), controller.signal).catch((e: unknown) => e);
    expect(isAppError(error, 'cancelled')).toBe(true);
    await ollama.waitFor(() => ollama.closedEarly.includes('/api/pull'));
  });
});
