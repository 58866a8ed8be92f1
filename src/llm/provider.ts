import type { TokenCounter } from './token-count.js';

/** The plug-in interface every language model backend implements. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/**
 * What the engine asks for. Real models read `messages`; the offline storyteller, which
 * cannot read prose, works from `task`, the same facts in structured form.
 */
export interface CompletionRequest {
  messages: ChatMessage[];
  /** Ask for JSON matching this schema where the provider supports it. */
  jsonSchema?: { name: string; schema: Record<string, unknown> };
  temperature?: number;
  maxTokens?: number;
  task?: StoryTask;
  /** What the call is for, for metrics and logs ('scene', 'talk', 'summary', 'reflection', 'repair'). */
  purpose?: string;
  /**
   * Receives the answer as it is written, thinking apart from the text. When set, remote
   * providers stream; the Completion is the same either way.
   */
  onDelta?: (delta: CompletionDelta) => void;
  /** Called once per HTTP attempt at the model (retries and fallbacks included), for turns.model_calls. */
  onAttempt?: () => void | Promise<void>;
  /** The prompt's parts by name (system, story, summary, …), for the record of what was sent; never sent itself. */
  sections?: Partial<Record<PromptSection, string>>;
}

export const promptSections = ['system', 'story', 'summary', 'facts', 'memories', 'lore', 'characters', 'recentScenes', 'thisTurn', 'format'] as const;
export type PromptSection = (typeof promptSections)[number];

export interface CompletionDelta {
  text?: string;
  thinking?: string;
}

/** Why the model stopped: 'length' means the answer was cut off by the token allowance. */
export type FinishReason = 'stop' | 'length' | 'other';

/** How the answer format was asked for: a JSON schema, plain JSON mode, or only the prompt's words. */
export type StructuredOutput = 'json_schema' | 'json_object' | 'prompt';

/** What actually went over the wire for the call that answered. */
export interface SentRequest {
  messages: ChatMessage[];
  contextWindow: number;
  /** Ollama's options.num_ctx. */
  numCtx?: number;
  /** The answer allowance: Ollama's num_predict, OpenAI's max_tokens. */
  maxTokens?: number;
  structuredOutput?: StructuredOutput;
  promptTokens: number;
}

export interface Completion {
  /** The answer, thinking removed. */
  text: string;
  model: string;
  promptTokens?: number;
  completionTokens?: number;
  /** The model's reasoning, from a separate field or from <think> blocks in the text. */
  thinking?: string;
  /** The answer as the server sent it, thinking included (kept in scenes.raw_output). */
  rawText?: string;
  finishReason?: FinishReason;
  sent?: SentRequest;
}

/** A model's context window in tokens and where the figure came from. */
export interface ContextWindow {
  tokens: number;
  /** e.g. 'ollama /api/show', 'llama.cpp /props', 'LIVINGWORLD_CONTEXT_TOKENS', 'default'. */
  source: string;
}

export interface ModelProvider {
  /** 'offline', 'ollama' or 'openai'; shown to the user together with the model. */
  readonly name: string;
  readonly model: string;
  /** True for the procedural storyteller, so every interface can label its output. */
  readonly offline: boolean;
  complete(request: CompletionRequest, signal?: AbortSignal): Promise<Completion>;
  /** Yields the text as it is written; the concatenation equals what `complete` would return. */
  stream(request: CompletionRequest, signal?: AbortSignal): AsyncIterable<string>;
  /** The model's context window; providers without one (the offline storyteller) have no limit worth budgeting. */
  contextWindow?(signal?: AbortSignal): Promise<ContextWindow>;
  /** Counts tokens the way this model does, or conservatively when its tokenizer is unknown. */
  tokenCounter?(): Promise<TokenCounter>;
}

export interface TaskCharacter {
  name: string;
  description?: string;
  personality?: string;
  /** A card's scenario (kept as the character's background). */
  scenario?: string;
  mood?: string;
  /** Relationship with the player, if any. */
  trust?: number;
  sentiment?: number;
  memories?: string[];
}

/** Structured facts behind a prompt (see CompletionRequest.task). */
export type StoryTask =
  | {
      kind: 'scene';
      storyTitle: string;
      setting: string;
      instructions?: string;
      sceneNumber: number;
      /** Prose of recent scenes, oldest first. */
      recentScenes: string[];
      /** The option the player took (absent for the opening scene). */
      chosenAction?: string;
      playerInstruction?: string;
      characters: TaskCharacter[];
      /** Deterministic seed for this request (story seed, scene number, attempt). */
      seed: number;
      /** How many choices to offer. */
      choiceCount: number;
    }
  | {
      kind: 'talk';
      setting: string;
      character: TaskCharacter;
      message: string;
      seed: number;
    }
  | {
      kind: 'summary';
      scenes: string[];
      previousSummary?: string;
      seed: number;
    }
  | {
      kind: 'reflection';
      characterName: string;
      /** Numbered from 1 as the prompt numbers them. */
      memories: { content: string; importance: number }[];
      seed: number;
    };
