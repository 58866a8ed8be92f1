import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { Embedder } from './embedder.js';
import { createOllamaEmbedder } from './embedders/ollama.js';
import { createOpenAIEmbedder } from './embedders/openai.js';

export interface SelectEmbedderOptions {
  /** Builds the offline embedder; defaults to the real one. */
  offline?: () => Promise<Embedder>;
}

/** Ollama's most pulled embedding model, used when EMBEDDINGS_MODEL is not set. */
export const defaultOllamaEmbeddingModel = 'nomic-embed-text';

/** Picks the embedder from EMBEDDINGS_PROVIDER; remote ones are probed once for their dimension. */
export async function selectEmbedder(config: Config, options: SelectEmbedderOptions = {}): Promise<Embedder> {
  switch (config.embeddingsProvider) {
    case 'offline':
      return options.offline ? options.offline() : createDefaultOfflineEmbedder();
    case 'ollama':
      return createOllamaEmbedder({
        host: config.ollamaHost,
        model: config.embeddingsModel ?? defaultOllamaEmbeddingModel,
        timeoutMs: config.llmTimeoutMs,
      });
    case 'openai': {
      if (!config.openaiBaseUrl || !config.embeddingsModel) {
        const missing = [config.openaiBaseUrl ? undefined : 'OPENAI_BASE_URL', config.embeddingsModel ? undefined : 'EMBEDDINGS_MODEL'];
        throw new AppError('config', `EMBEDDINGS_PROVIDER=openai needs ${missing.filter(Boolean).join(' and ')}.`);
      }
      return createOpenAIEmbedder({
        baseUrl: config.openaiBaseUrl,
        apiKey: config.openaiApiKey,
        model: config.embeddingsModel,
        timeoutMs: config.llmTimeoutMs,
      });
    }
  }
}

/** Loaded on demand: the offline vocabulary is only read when it is the one chosen. */
async function createDefaultOfflineEmbedder(): Promise<Embedder> {
  const { createOfflineEmbedder } = await import('./embedders/offline.js');
  return createOfflineEmbedder();
}
