import type { ChatMessage, Completion, CompletionRequest, ContextWindow, ModelProvider, PromptSection } from '../llm/provider.js';
import { countMessageTokens, type TokenCounter } from '../llm/token-count.js';

/** Exactly what the model was sent for a scene, with the size of each part of the prompt. */
export interface ScenePromptRecord {
  provider: string;
  model: string;
  contextWindow: number | null;
  contextSource: string | null;
  /** Ollama's options.num_ctx. */
  numCtx: number | null;
  /** The answer allowance sent (num_predict or max_tokens). */
  maxTokens: number | null;
  structuredOutput: string | null;
  promptTokens: number;
  /** Which tokenizer counted: a model family's, or 'estimate'. */
  tokenizer: string;
  sections: Partial<Record<PromptSection, number>>;
  messages: ChatMessage[];
}

/** The record for the call that answered: the provider's own account of it where it gives one. */
export function describeScenePrompt(
  provider: ModelProvider,
  request: CompletionRequest,
  completion: Completion,
  limits: { window: ContextWindow | undefined; counter: TokenCounter },
): ScenePromptRecord {
  const { sent } = completion;
  const messages = (sent?.messages ?? request.messages).map(({ role, content }) => ({ role, content }));
  const sections: ScenePromptRecord['sections'] = {};
  for (const [name, text] of Object.entries(request.sections ?? {}) as [PromptSection, string][]) sections[name] = limits.counter.count(text);
  return {
    provider: provider.name,
    model: completion.model || provider.model,
    contextWindow: sent?.contextWindow ?? limits.window?.tokens ?? null,
    contextSource: limits.window?.source ?? null,
    numCtx: sent?.numCtx ?? null,
    maxTokens: sent?.maxTokens ?? request.maxTokens ?? null,
    structuredOutput: sent?.structuredOutput ?? null,
    promptTokens: sent?.promptTokens ?? countMessageTokens(limits.counter, messages),
    tokenizer: limits.counter.tokenizer,
    sections,
    messages,
  };
}
