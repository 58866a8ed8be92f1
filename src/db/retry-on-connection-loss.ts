import { isConnectionError } from './pg-errors.js';
import { backoffDelayMs } from './with-transaction.js';

/**
 * Runs a statement outside a transaction again while the database is unreachable (a restart,
 * a killed connection), for writes that must not be lost — such as recording what a turn
 * spent — and reads whose failure would waste work already done. Bounded in attempts.
 */
export async function retryOnConnectionLoss<T>(fn: () => Promise<T>, options: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number } = {}): Promise<T> {
  const attempts = options.attempts ?? 10;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isConnectionError(error) || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.max(50, backoffDelayMs(attempt, options.baseDelayMs ?? 100, options.maxDelayMs ?? 2_000))));
    }
  }
}
