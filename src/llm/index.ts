/** The public API of the model layer. */
export type { ChatMessage, Completion, CompletionRequest, ModelProvider, StoryTask, TaskCharacter } from './provider.js';
export { createOfflineProvider, type OfflineProviderOptions } from './providers/offline.js';
export { createOllamaProvider, type OllamaProviderOptions } from './providers/ollama.js';
export { createOpenAIProvider, type OpenAIProviderOptions } from './providers/openai.js';
export { selectProvider, suggestedOllamaModel, type ProviderSelection, type SelectProviderOptions } from './select-provider.js';
export { listOllamaModels, pullOllamaModel, type PullProgress } from './pull-model.js';
export { backoffDelayMs, isRetryableModelError, streamWithRetry, withRetry, type RetryOptions } from './with-retry.js';
