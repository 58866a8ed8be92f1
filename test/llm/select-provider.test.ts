import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { isAppError, type AppError } from '../../src/errors.js';
import type { ModelProvider } from '../../src/llm/provider.js';
import { selectProvider } from '../../src/llm/select-provider.js';
import { FakeOllama, startFakeOllama, unusedLocalUrl } from '../helpers/fake-model-servers.js';

/** Stands in for the offline storyteller, which another module provides. */
const offlineStub = (): ModelProvider => ({
  name: 'offline',
  model: 'procedural-v1',
  offline: true,
  complete: async () => ({ text: 'offline scene', model: 'procedural-v1' }),
  stream: async function* () {
    yield 'offline scene';
  },
});

const configWith = (env: Record<string, string>) => loadConfig({ LIVINGWORLD_DATA_DIR: '.tmp/select-provider', ...env });

async function failureOf(work: Promise<unknown>): Promise<AppError> {
  const error = await work.then(() => expect.unreachable('expected selection to fail'), (e: unknown) => e);
  if (!isAppError(error)) throw error;
  return error;
}

describe('selectProvider', () => {
  let ollama: FakeOllama;

  beforeEach(async () => {
    ollama = await startFakeOllama();
  });

  afterEach(async () => {
    await ollama.close();
  });

  it('offline: the offline storyteller, described with its engine version', async () => {
    const selection = await selectProvider(configWith({ LLM_PROVIDER: 'offline' }), { offline: offlineStub });
    expect(selection.provider.offline).toBe(true);
    expect(selection.description).toBe('offline storyteller (procedural-v1)');
    expect(selection.notice).toBeUndefined();
  });

  it('offline: loads the real offline storyteller when no factory is given', async () => {
    const selection = await selectProvider(configWith({ LLM_PROVIDER: 'offline' }));
    expect(selection.provider).toMatchObject({ name: 'offline', offline: true });
    expect(selection.description).toBe(`offline storyteller (${selection.provider.model})`);
  });

  it('auto: picks Ollama and its first listed model when it answers', async () => {
    ollama.models = ['mistral:7b', 'llama3.2:latest'];
    const selection = await selectProvider(configWith({ LLM_PROVIDER: 'auto', OLLAMA_HOST: ollama.url }), { offline: offlineStub });
    expect(selection.provider).toMatchObject({ name: 'ollama', model: 'mistral:7b', offline: false });
    expect(selection.description).toBe(`ollama mistral:7b at ${ollama.url}`);
    expect(selection.notice).toBeUndefined();
  });

  it('auto: honours OLLAMA_MODEL written without the :latest tag', async () => {
    const selection = await selectProvider(configWith({ LLM_PROVIDER: 'auto', OLLAMA_HOST: ollama.url, OLLAMA_MODEL: 'llama3.2' }), {
      offline: offlineStub,
    });
    expect(selection.provider.model).toBe('llama3.2');
  });

  it('auto: falls back to offline with a notice when nothing listens at OLLAMA_HOST', async () => {
    const url = await unusedLocalUrl();
    const selection = await selectProvider(configWith({ LLM_PROVIDER: 'auto', OLLAMA_HOST: url }), { offline: offlineStub });
    expect(selection.provider.offline).toBe(true);
    expect(selection.notice).toContain(url);
    expect(selection.notice).toMatch(/offline storyteller/);
  });

  it('auto: falls back within about 1.5 s when Ollama does not answer', async () => {
    ollama.reply({ delayMs: 5_000 });
    const started = Date.now();
    const selection = await selectProvider(configWith({ LLM_PROVIDER: 'auto', OLLAMA_HOST: ollama.url }), { offline: offlineStub });
    const elapsed = Date.now() - started;
    expect(selection.provider.offline).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(1_400);
    expect(elapsed).toBeLessThan(3_000);
    expect(selection.notice).toMatch(/did not answer/);
  });

  it('auto: falls back to offline when Ollama has no usable model, saying how to get one', async () => {
    ollama.models = [];
    const selection = await selectProvider(configWith({ LLM_PROVIDER: 'auto', OLLAMA_HOST: ollama.url }), { offline: offlineStub });
    expect(selection.provider.offline).toBe(true);
    expect(selection.notice).toMatch(/ollama pull/);
  });

  it('ollama: refuses a model that is not installed, with details for the CLI to offer a pull', async () => {
    const error = await failureOf(selectProvider(configWith({ LLM_PROVIDER: 'ollama', OLLAMA_HOST: ollama.url, OLLAMA_MODEL: 'qwen2.5:14b' })));
    expect(error.code).toBe('llm_unavailable');
    expect(error.message).toMatch(/ollama pull qwen2\.5:14b/);
    expect(error.details).toMatchObject({ missingModel: 'qwen2.5:14b', host: ollama.url });
  });

  it('ollama: refuses when Ollama has no models at all, suggesting one to pull', async () => {
    ollama.models = [];
    const error = await failureOf(selectProvider(configWith({ LLM_PROVIDER: 'ollama', OLLAMA_HOST: ollama.url })));
    expect(error.details).toMatchObject({ missingModel: expect.any(String), host: ollama.url });
  });

  it('ollama: refuses when the server does not answer, naming the host', async () => {
    const url = await unusedLocalUrl();
    const error = await failureOf(selectProvider(configWith({ LLM_PROVIDER: 'ollama', OLLAMA_HOST: url })));
    expect(error.code).toBe('llm_unavailable');
    expect(error.message).toContain(url);
  });

  it('openai: names the variables that are missing', async () => {
    const error = await failureOf(selectProvider(configWith({ LLM_PROVIDER: 'openai' })));
    expect(error.code).toBe('config');
    expect(error.message).toMatch(/OPENAI_BASE_URL and OPENAI_MODEL/);
    const onlyModel = await failureOf(selectProvider(configWith({ LLM_PROVIDER: 'openai', OPENAI_BASE_URL: 'http://127.0.0.1:8080/v1' })));
    expect(onlyModel.message).toMatch(/needs OPENAI_MODEL/);
  });

  it('openai: builds the provider from the variables without calling the server', async () => {
    const selection = await selectProvider(
      configWith({ LLM_PROVIDER: 'openai', OPENAI_BASE_URL: 'http://127.0.0.1:8080/v1', OPENAI_MODEL: 'qwen2.5-7b-instruct', OPENAI_API_KEY: 'sk-secret' }),
    );
    expect(selection.provider).toMatchObject({ name: 'openai', model: 'qwen2.5-7b-instruct', offline: false });
    expect(selection.description).toBe('openai qwen2.5-7b-instruct at http://127.0.0.1:8080/v1');
    expect(selection.description).not.toContain('sk-secret');
  });
});
