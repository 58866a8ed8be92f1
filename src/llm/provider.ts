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
  /** What the call is for, for metrics and logs ('scene', 'talk', 'summary', 'repair'). */
  purpose?: string;
}

export interface Completion {
  text: string;
  model: string;
  promptTokens?: number;
  completionTokens?: number;
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
    };
