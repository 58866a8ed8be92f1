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

  /** Runs a turn with a signal that fires when `callerSignal` does or when shutdown gives up waiting. */
  async run<T>(callerSignal: AbortSignal, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (!this.accepting) throw new AppError('database_unavailable', 'The server is shutting down; try again in a moment.');
    const controller = new AbortController();
    const forward = () => controller.abort();
    callerSignal.addEventListener('abort', forward, { once: true });
    if (callerSignal.aborted) controller.abort();
    const promise = fn(controller.signal);
    this.running.set(controller, promise);
    try {
      return await promise;
    } finally {
      this.running.delete(controller);
      callerSignal.removeEventListener('abort', forward);
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
