import { randomUUID } from 'node:crypto';
import { hashRequest, type IdempotencyClaim } from '../idempotency/index.js';
import { isAppError } from '../errors.js';

const attempts = 4;

/**
 * Runs one CLI write under a key of its own, and runs it again with that same key while the
 * database is unreachable or a COMMIT's outcome is unknown — so the write has one effect
 * however often it is retried. `parts` describe the request (command and arguments).
 */
export async function retryWithKey<T>(parts: unknown[], write: (claim: IdempotencyClaim) => Promise<T>, options: { key?: string } = {}): Promise<T> {
  const claim: IdempotencyClaim = { scope: 'cli', key: options.key ?? `cli-${randomUUID()}`, requestHash: hashRequest(...parts) };
  for (let attempt = 1; ; attempt++) {
    try {
      return await write(claim);
    } catch (error) {
      if (!isAppError(error, 'database_unavailable') || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
    }
  }
}
