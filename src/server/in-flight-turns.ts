import { AppError } from '../errors.js';

/**
 * The turns this process is writing, so that shutdown can wait for them and, past its
 * deadline, abort them (the engine then marks them failed instead of leaving them leased).
 */
export class InFlightTurns {
  private readonly running = new Map<AbortController, Promise<unknown>>();
  private accepting = true;

  get size(): number {
    return this.running.size;
  }

  /**
   * Runs a turn with two signals: `signal` is the caller's (the client went away: this request
   * stops waiting), `stopSignal` fires when shutdown gives up waiting (the turn stops).
   */
  async run<T>(callerSignal: AbortSignal, fn: (signals: { signal: AbortSignal; stopSignal: AbortSignal }) => Promise<T>): Promise<T> {
    if (!this.accepting) throw new AppError('shutting_down', 'The server is shutting down; send the same request again in a moment.');
    const controller = new AbortController();
    const promise = fn({ signal: callerSignal, stopSignal: controller.signal });
    this.running.set(controller, promise);
    try {
      return await promise;
    } finally {
      this.running.delete(controller);
    }
  }

  /** Refuses new turns, waits up to `graceMs` for the running ones, then aborts the rest and waits up to `abortWaitMs`. */
  async drain(graceMs: number, abortWaitMs: number): Promise<{ finished: number; aborted: number }> {
    this.accepting = false;
    const started = this.running.size;
    await settleWithin([...this.running.values()], graceMs);
    const left = [...this.running.entries()];
    for (const [controller] of left) controller.abort();
    await settleWithin(left.map(([, promise]) => promise), abortWaitMs);
    return { finished: started - left.length, aborted: left.length };
  }
}

async function settleWithin(promises: Promise<unknown>[], ms: number): Promise<void> {
  if (promises.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled(promises),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
