/** Streamed prose released word by word at no more than a reader's chosen pace. */
export interface TextPacer {
  push(text: string): void;
  /** Resolves once everything pushed has been sent, or after `maxDrainMs`, when the rest goes at once. */
  drain(): Promise<void>;
  /** Sends nothing more (the client has gone). */
  stop(): void;
}

// Words due within one tick go out together, so that a fast pace is not one event per word.
const tickMs = 40;

/**
 * Paces streamed text for a reader: a storyteller that writes faster than `wordsPerSecond`
 * (the offline one writes a whole scene at once) is slowed to it, a slower one is passed on
 * as it writes. Each word is due one interval after the previous one or when it arrived,
 * whichever is later, so that a pause in the model is never followed by a burst.
 */
export function createTextPacer(send: (text: string) => void, options: { wordsPerSecond: number; maxDrainMs: number }): TextPacer {
  const intervalMs = 1000 / options.wordsPerSecond;
  const queue: { text: string; dueAt: number }[] = [];
  let lastDueAt = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let drained: (() => void) | undefined;

  const release = () => {
    timer = undefined;
    if (stopped) return;
    const now = performance.now();
    let text = '';
    while (queue.length > 0 && queue[0]!.dueAt <= now + tickMs / 2) text += queue.shift()!.text;
    if (text) send(text);
    if (queue.length > 0) timer = setTimeout(release, Math.max(tickMs, queue[0]!.dueAt - now));
    else drained?.();
  };

  return {
    push(text) {
      if (stopped) return;
      const now = performance.now();
      for (const word of text.match(/\S+\s*|\s+/g) ?? []) {
        // Whitespace alone takes no reading time: it rides with the word before it.
        const dueAt = /\S/.test(word) ? Math.max(now, lastDueAt + intervalMs) : Math.max(now, lastDueAt);
        lastDueAt = dueAt;
        queue.push({ text: word, dueAt });
      }
      if (!timer) release();
    },
    drain() {
      if (stopped || queue.length === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const deadline = setTimeout(() => {
          if (timer) clearTimeout(timer);
          timer = undefined;
          // Bounded: a long scene at a slow pace is not held back for ever.
          const rest = queue.splice(0).map((item) => item.text).join('');
          if (rest && !stopped) send(rest);
          finish();
        }, options.maxDrainMs);
        const finish = () => {
          clearTimeout(deadline);
          drained = undefined;
          resolve();
        };
        drained = finish;
      });
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      queue.length = 0;
      drained?.();
    },
  };
}
