import type { EngineDeps } from './engine-deps.js';
import { eventsChannel } from './engine-deps.js';
import { findTurn, type TurnRow } from './turn-repo.js';
import { AppError } from '../errors.js';
import { isConnectionError } from '../db/index.js';

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

/**
 * Waits until a turn owned by someone else finishes, or its lease expires (then the caller
 * may take it over). NOTIFY wakes us early; polling covers a missed notification and other
 * processes on the embedded path.
 */
export async function awaitTurn(deps: EngineDeps, storyId: string, turnId: string, options: { signal?: AbortSignal; timeoutMs: number }): Promise<TurnRow> {
  const deadline = Date.now() + options.timeoutMs;
  let wake: (() => void) | undefined;
  const unsubscribe = await deps.db
    .listen(eventsChannel, (payload) => {
      if (payload.includes(turnId)) wake?.();
    })
    .catch(() => async () => {});
  try {
    let pollMs = 20;
    for (;;) {
      if (options.signal?.aborted) throw new AppError('cancelled', 'The request was cancelled.');
      // A failed poll (connection lost or refused) is retried at the next poll, not fatal.
      const turn = await findTurn(deps.db, storyId, turnId).catch((error: unknown) => {
        if (isConnectionError(error) && Date.now() < deadline) return 'retry' as const;
        throw error;
      });
      if (turn === 'retry') {
        await sleep(pollMs, options.signal);
        continue;
      }
      if (!turn) throw new AppError('not_found', `Turn ${turnId} no longer exists.`);
      if (turn.status !== 'generating' || turn.leaseExpired) return turn;
      if (Date.now() >= deadline) {
        throw new AppError('llm_unavailable', 'Timed out waiting for the scene being written for this story; try again shortly.', {
          details: { turnId },
        });
      }
      const wait = new AbortController();
      wake = () => wait.abort();
      const onAbort = () => wait.abort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())), wait.signal);
      options.signal?.removeEventListener('abort', onAbort);
      pollMs = Math.min(pollMs * 2, 500);
    }
  } finally {
    await unsubscribe();
  }
}
