import type { CompletionDelta } from './provider.js';

/**
 * Separates reasoning that models write inline (`<think>…</think>`, `<thinking>`,
 * `<reasoning>`) from the answer, chunk by chunk: a tag may be split across chunks, and a
 * block still open when the answer ends is thinking too (the model ran out of room).
 * Braces inside the thinking never reach the answer, so the JSON parser sees only the answer.
 */
export interface ThinkingSplitter {
  push(chunk: string): CompletionDelta;
  /** Flushes what was held back; call once when the answer is complete. */
  end(): CompletionDelta;
}

const tagNames = ['think', 'thinking', 'reasoning'] as const;
const openPattern = /<(think|thinking|reasoning)>/i;

export function createThinkingSplitter(): ThinkingSplitter {
  let pending = '';
  let openTag: string | undefined;
  let answerStarted = false;

  function split(final: boolean): CompletionDelta {
    let text = '';
    let thinking = '';
    for (;;) {
      if (openTag !== undefined) {
        const close = `</${openTag}>`;
        const at = pending.toLowerCase().indexOf(close);
        if (at === -1) {
          const keep = final ? 0 : partialSuffix(pending, [close]);
          thinking += pending.slice(0, pending.length - keep);
          pending = pending.slice(pending.length - keep);
          break;
        }
        thinking += pending.slice(0, at);
        pending = pending.slice(at + close.length);
        openTag = undefined;
        // The answer after a thinking block usually starts on a fresh line; that gap is not part of it.
        if (!answerStarted) pending = pending.replace(/^\s+/, '');
        continue;
      }
      const match = openPattern.exec(pending);
      if (match) {
        text += pending.slice(0, match.index);
        pending = pending.slice(match.index + match[0].length);
        openTag = match[1]!.toLowerCase();
        continue;
      }
      const keep = final ? 0 : partialSuffix(pending, tagNames.map((name) => `<${name}>`));
      text += pending.slice(0, pending.length - keep);
      pending = pending.slice(pending.length - keep);
      break;
    }
    if (!answerStarted && text.trim() !== '') answerStarted = true;
    return { ...(text ? { text } : {}), ...(thinking ? { thinking } : {}) };
  }

  return {
    push(chunk) {
      pending += chunk;
      return split(false);
    },
    end() {
      return split(true);
    },
  };
}

/** Length of the longest end of `text` that could be the start of one of `tags`, to hold back. */
function partialSuffix(text: string, tags: readonly string[]): number {
  const lower = text.toLowerCase();
  let longest = 0;
  for (const tag of tags) {
    for (let length = Math.min(tag.length - 1, lower.length); length > longest; length--) {
      if (tag.startsWith(lower.slice(lower.length - length))) {
        longest = length;
        break;
      }
    }
  }
  return longest;
}

/** Splits a whole answer at once (non-streaming replies). */
export function splitThinking(text: string): { text: string; thinking: string } {
  const splitter = createThinkingSplitter();
  const first = splitter.push(text);
  const last = splitter.end();
  return { text: (first.text ?? '') + (last.text ?? ''), thinking: (first.thinking ?? '') + (last.thinking ?? '') };
}

/**
 * Some templates open the thinking block in the prompt, so the answer holds only its end:
 * "reasoning…</think>{…}". Whatever comes before such an orphan closing tag is thinking.
 */
export function dropOrphanThinking(answer: { text: string; thinking: string }): { text: string; thinking: string } {
  const orphan = /<\/(think|thinking|reasoning)>/i.exec(answer.text);
  if (!orphan) return answer;
  return {
    text: answer.text.slice(orphan.index + orphan[0].length).replace(/^\s+/, ''),
    thinking: answer.thinking + answer.text.slice(0, orphan.index),
  };
}
