import type { ChatMessage } from './provider.js';

/**
 * Token counting for context budgets. A real tokenizer where one from the registry fits the
 * model family (OpenAI's o200k/cl100k, Llama 3's), else a deliberately high estimate: an
 * undercount lets the server cut the prompt, an overcount only leaves some room unused.
 */

export type TokenizerName = 'o200k_base' | 'cl100k_base' | 'llama3' | 'estimate';

export interface TokenCounter {
  readonly tokenizer: TokenizerName;
  count(text: string): number;
}

/**
 * Characters per token assumed by the estimate. English story prose runs about 4.2–4.5
 * characters a token with 100k+ vocabularies and about 3.6 with 32k ones (Mistral, Llama 2);
 * 3.2 stays above both (bench/token-estimate.ts measures it on 100 scenes).
 */
export const estimateCharsPerToken = 3.2;

/** Chat templates wrap each message in role markers: a few tokens each, more for some families. */
export const messageOverheadTokens = 8;
/** The template's own preamble and the assistant's opening marker. */
export const promptOverheadTokens = 16;

export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(text.length / estimateCharsPerToken);
}

export const estimatingCounter: TokenCounter = { tokenizer: 'estimate', count: estimateTokens };

/** Which tokenizer fits a model name, or 'estimate' when none does. */
export function tokenizerForModel(model: string): TokenizerName {
  const name = model.toLowerCase().replace(/^.*\//, '');
  if (/^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|chatgpt-4o|o[1-9](?:-|$)|gpt-oss)/.test(name)) return 'o200k_base';
  if (/^(gpt-4|gpt-3\.5)/.test(name)) return 'cl100k_base';
  // Llama 3.x (Ollama's llama3.2, llama3.1:8b, hf names like meta-llama-3.1-8b-instruct); not Llama 2.
  if (/(^|[-_/])llama-?3(?:[.:_-]|$)/.test(name) || name.startsWith('llama3')) return 'llama3';
  return 'estimate';
}

const loaded = new Map<TokenizerName, Promise<TokenCounter>>();

/** Loads the tokenizer for a model once per process (the vocabularies take a moment to load). */
export function loadTokenCounter(model: string): Promise<TokenCounter> {
  const tokenizer = tokenizerForModel(model);
  let counter = loaded.get(tokenizer);
  if (!counter) {
    counter = importTokenizer(tokenizer);
    loaded.set(tokenizer, counter);
  }
  return counter;
}

async function importTokenizer(tokenizer: TokenizerName): Promise<TokenCounter> {
  switch (tokenizer) {
    case 'o200k_base': {
      const { countTokens } = await import('gpt-tokenizer/encoding/o200k_base');
      return { tokenizer, count: (text) => countTokens(text) };
    }
    case 'cl100k_base': {
      const { countTokens } = await import('gpt-tokenizer/encoding/cl100k_base');
      return { tokenizer, count: (text) => countTokens(text) };
    }
    case 'llama3': {
      const { default: llama3 } = await import('llama3-tokenizer-js');
      return { tokenizer, count: (text) => llama3.encode(text, { bos: false, eos: false }).length };
    }
    case 'estimate':
      return estimatingCounter;
  }
}

/** The prompt's size as the server will see it: every message plus the template around it. */
export function countMessageTokens(counter: TokenCounter, messages: readonly ChatMessage[]): number {
  let tokens = promptOverheadTokens;
  for (const message of messages) tokens += counter.count(message.content) + messageOverheadTokens;
  return tokens;
}
