import type { Config } from '../config.js';
import { AppError, isAppError } from '../errors.js';
import type { CapabilityStore } from './model-capability-repo.js';
import type { ModelProvider } from './provider.js';
import { createOllamaProvider } from './providers/ollama.js';
import { createOpenAIProvider, normaliseOpenAIBaseUrl } from './providers/openai.js';
import { listOllamaModels } from './pull-model.js';

export interface ProviderSelection {
  provider: ModelProvider;
  /** e.g. "offline storyteller (procedural-v1)", "ollama llama3.2 at http://127.0.0.1:11434". */
  description: string;
  /** Why `auto` fell back to the offline storyteller, for the user to read. */
  notice?: string;
}

export interface SelectProviderOptions {
  /** Builds the offline storyteller; defaults to the real one, seeded from config. */
  offline?: () => ModelProvider;
  /** How long `auto` waits for Ollama before falling back; `ollama` waits longer. */
  autoProbeTimeoutMs?: number;
  /** Where providers remember what the server supports (the database, normally). */
  capabilityStore?: CapabilityStore;
}

/** Suggested when Ollama has no model at all, so the CLI has something to offer to pull. */
export const suggestedOllamaModel = 'llama3.2';
const explicitProbeTimeoutMs = 5_000;
const defaultAutoProbeTimeoutMs = 1_500;

/** Picks the model provider from LLM_PROVIDER as DESIGN §1 describes. */
export async function selectProvider(config: Config, options: SelectProviderOptions = {}): Promise<ProviderSelection> {
  switch (config.llmProvider) {
    case 'offline':
      return offlineSelection(config, options);
    case 'ollama':
      return ollamaSelection(config, await findOllamaModel(config, explicitProbeTimeoutMs), options);
    case 'openai':
      return openAISelection(config, options);
    case 'auto':
      try {
        return ollamaSelection(config, await findOllamaModel(config, options.autoProbeTimeoutMs ?? defaultAutoProbeTimeoutMs), options);
      } catch (error) {
        if (!isAppError(error, 'llm_unavailable')) throw error;
        return { ...(await offlineSelection(config, options)), notice: `${error.message} Using the offline storyteller meanwhile.` };
      }
  }
}

async function offlineSelection(config: Config, options: SelectProviderOptions): Promise<ProviderSelection> {
  const provider = options.offline ? options.offline() : await createDefaultOfflineProvider(config.offlineSeed, config.offlineLatencyMs);
  return { provider, description: `offline storyteller (${provider.model})` };
}

/** Loaded on demand: the procedural engine is only needed when it is the one chosen. */
async function createDefaultOfflineProvider(seed: number, latencyMs: number): Promise<ModelProvider> {
  const { createOfflineProvider } = await import('./providers/offline.js');
  return createOfflineProvider({ seed, latencyMs });
}

/** What both remote providers take from the config. */
function remoteSettings(config: Config, options: SelectProviderOptions) {
  return {
    timeoutMs: config.llmTimeoutMs,
    contextTokensCap: config.contextTokens,
    think: config.think,
    maxRetryWaitMs: config.llmMaxRetryWaitMs,
    capabilityStore: options.capabilityStore,
  };
}

function ollamaSelection(config: Config, model: string, options: SelectProviderOptions): ProviderSelection {
  const provider = createOllamaProvider({ host: config.ollamaHost, model, ...remoteSettings(config, options) });
  return { provider, description: `ollama ${model} at ${config.ollamaHost}` };
}

/**
 * The model to use: OLLAMA_MODEL if Ollama has it, else the first it lists. Throws
 * llm_unavailable saying what to do, with `details.missingModel` so the CLI can offer a pull.
 */
async function findOllamaModel(config: Config, timeoutMs: number): Promise<string> {
  const host = config.ollamaHost;
  const installed = await listOllamaModels(host, { timeoutMs });
  const wanted = config.ollamaModel;
  if (wanted === undefined) {
    const first = installed[0];
    if (first !== undefined) return first;
    throw new AppError(
      'llm_unavailable',
      `Ollama at ${host} has no models installed: run \`ollama pull ${suggestedOllamaModel}\` (or set OLLAMA_MODEL and pull that).`,
      { details: { host, missingModel: suggestedOllamaModel } },
    );
  }
  if (installed.some((name) => sameOllamaModel(name, wanted))) return wanted;
  throw new AppError(
    'llm_unavailable',
    `Ollama at ${host} has no model "${wanted}" (OLLAMA_MODEL): run \`ollama pull ${wanted}\` or set OLLAMA_MODEL to one of: ${installed.join(', ') || 'none installed'}.`,
    { details: { host, missingModel: wanted, installed } },
  );
}

/** Ollama lists "llama3.2:latest" for a model pulled as "llama3.2". */
function sameOllamaModel(listed: string, wanted: string): boolean {
  const withTag = (name: string) => (name.includes(':') ? name : `${name}:latest`);
  return withTag(listed) === withTag(wanted);
}

function openAISelection(config: Config, options: SelectProviderOptions): ProviderSelection {
  const missing = [config.openaiBaseUrl ? undefined : 'OPENAI_BASE_URL', config.openaiModel ? undefined : 'OPENAI_MODEL'].filter(
    (name): name is string => name !== undefined,
  );
  if (!config.openaiBaseUrl || !config.openaiModel) {
    throw new AppError(
      'config',
      `LLM_PROVIDER=openai needs ${missing.join(' and ')} (e.g. OPENAI_BASE_URL=http://127.0.0.1:8080/v1 OPENAI_MODEL=<model name>).`,
      { details: { missing } },
    );
  }
  const provider = createOpenAIProvider({
    baseUrl: config.openaiBaseUrl,
    apiKey: config.openaiApiKey,
    model: config.openaiModel,
    ...remoteSettings(config, options),
  });
  return { provider, description: `openai ${config.openaiModel} at ${normaliseOpenAIBaseUrl(config.openaiBaseUrl)}` };
}
