import type { CompletionDelta } from './provider.js';
import { createThinkingSplitter, dropOrphanThinking } from './split-thinking.js';

/**
 * Collects one answer from the pieces a server sends — content (which may hold inline
 * <think> blocks) and reasoning from a separate field — passing each piece on as it comes,
 * thinking apart from text, and keeping the raw answer for scenes.raw_output.
 */
export class AnswerAssembler {
  #splitter = createThinkingSplitter();
  #rawContent = '';
  #fieldReasoning = '';
  #text = '';
  #thinking = '';
  #onDelta: ((delta: CompletionDelta) => void) | undefined;

  constructor(onDelta?: (delta: CompletionDelta) => void) {
    this.#onDelta = onDelta;
  }

  /** Text from the answer's content field. */
  content(chunk: string): void {
    if (!chunk) return;
    this.#rawContent += chunk;
    this.#emit(this.#splitter.push(chunk));
  }

  /** Text from a separate reasoning field (reasoning_content, reasoning, Ollama's thinking). */
  reasoning(chunk: string): void {
    if (!chunk) return;
    this.#fieldReasoning += chunk;
    this.#emit({ thinking: chunk });
  }

  finish(): { text: string; thinking: string; rawText: string } {
    this.#emit(this.#splitter.end());
    const { text, thinking } = dropOrphanThinking({ text: this.#text, thinking: this.#thinking });
    const rawText = this.#fieldReasoning ? `<think>${this.#fieldReasoning}</think>\n${this.#rawContent}` : this.#rawContent;
    return { text, thinking, rawText };
  }

  #emit(delta: CompletionDelta): void {
    if (delta.text) this.#text += delta.text;
    if (delta.thinking) this.#thinking += delta.thinking;
    if ((delta.text || delta.thinking) && this.#onDelta) this.#onDelta(delta);
  }
}
