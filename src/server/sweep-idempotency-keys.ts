import type { Database } from '../db/index.js';
import { deleteExpiredIdempotencyKeys } from '../idempotency/index.js';
import type { Logger } from '../logger.js';

const sweepEveryMs = 60 * 60 * 1000;

/**
 * Deletes idempotency keys past their lifetime, at start and then hourly; every process
 * sweeps (a DELETE is harmless when another got there first). Returns a stop function.
 */
export function sweepIdempotencyKeys(db: Database, log: Logger): () => void {
  const sweep = () =>
    deleteExpiredIdempotencyKeys(db).then(
      (deleted) => {
        if (deleted > 0) log.info({ deleted }, 'expired idempotency keys deleted');
      },
      (error: unknown) => log.warn({ err: error }, 'could not sweep expired idempotency keys'),
    );
  void sweep();
  const timer = setInterval(sweep, sweepEveryMs);
  timer.unref();
  return () => clearInterval(timer);
}
