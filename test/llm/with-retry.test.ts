import { describe, expect, it } from 'vitest';
import { AppError, isAppError } from '../../src/errors.js';
import { AttemptDeadline, backoffDelayMs, streamWithRetry, withRetry } from '../../src/llm/with-retry.js';

const retryable = () => new AppError('llm_unavailable', 'down', { details: { retryable: true } });
const permanent = () => new AppError('llm_unavailable', 'refused', { details: { retryable: false } });

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('expected a rejection'),
    (error: unknown) => error,
  );
}

describe('backoffDelayMs', () => {
  it('grows exponentially, is capped, and is fully jittered below the ceiling', () => {
    const top = { baseDelayMs: 100, maxDelayMs: 1_000, random: () => 0.999999 };
    expect([0, 1, 2, 3, 4, 10].map((retry) => backoffDelayMs(retry, top))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoffDelayMs(3, { ...top, random: () => 0 })).toBe(0);
  });
});

describe('withRetry', () => {
  it('retries retryable errors and returns the first success', async () => {
    let calls = 0;
    const result = await withRetry(
      async (attempt) => {
        calls += 1;
        if (attempt < 2) throw retryable();
        return 'ok';
      },
      { maxRetries: 3, baseDelayMs: 1 },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  it('gives up after maxRetries retries with the last error', async () => {
    let calls = 0;
    const error = await rejectionOf(withRetry(async () => { calls += 1; throw retryable(); }, { maxRetries: 2, baseDelayMs: 1 }));
    expect(isAppError(error, 'llm_unavailable')).toBe(true);
    expect(calls).toBe(3);
  });

  it('does not retry an error that is not retryable', async () => {
    let calls = 0;
    await rejectionOf(withRetry(async () => { calls += 1; throw permanent(); }, { maxRetries: 5, baseDelayMs: 1 }));
    expect(calls).toBe(1);
  });

  it('stops at once when the signal aborts during the backoff', async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 30);
    const error = await rejectionOf(
      withRetry(async () => { throw retryable(); }, { maxRetries: 5, baseDelayMs: 10_000, maxDelayMs: 10_000, random: () => 0.99, signal: controller.signal }),
    );
    expect(isAppError(error, 'cancelled')).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('does not start when the signal has already aborted', async () => {
    let calls = 0;
    const error = await rejectionOf(withRetry(async () => { calls += 1; }, { maxRetries: 1, signal: AbortSignal.abort() }));
    expect(isAppError(error, 'cancelled')).toBe(true);
    expect(calls).toBe(0);
  });
});

describe('streamWithRetry', () => {
  async function collect(stream: AsyncIterable<string>): Promise<string[]> {
    const items: string[] = [];
    for await (const item of stream) items.push(item);
    return items;
  }

  it('reopens a stream that failed before yielding anything', async () => {
    let opens = 0;
    const items = await collect(
      streamWithRetry(async function* (attempt) {
        opens += 1;
        if (attempt === 0) throw retryable();
        yield 'a';
        yield 'b';
      }, { maxRetries: 2, baseDelayMs: 1 }),
    );
    expect(items).toEqual(['a', 'b']);
    expect(opens).toBe(2);
  });

  it('does not reopen a stream that already yielded, because the caller has shown it', async () => {
    let opens = 0;
    const seen: string[] = [];
    const error = await rejectionOf(
      (async () => {
        for await (const item of streamWithRetry(async function* () {
          opens += 1;
          yield 'a';
          throw retryable();
        }, { maxRetries: 2, baseDelayMs: 1 })) seen.push(item);
      })(),
    );
    expect(isAppError(error, 'llm_unavailable')).toBe(true);
    expect(seen).toEqual(['a']);
    expect(opens).toBe(1);
  });
});

describe('AttemptDeadline', () => {
  it('tells a timeout from a cancel', async () => {
    const timedOut = new AttemptDeadline(20);
    await new Promise((resolve) => timedOut.signal.addEventListener('abort', resolve));
    expect([timedOut.timedOut, timedOut.cancelled]).toEqual([true, false]);
    timedOut.dispose();

    const caller = new AbortController();
    const cancelled = new AttemptDeadline(10_000, caller.signal);
    caller.abort();
    expect([cancelled.timedOut, cancelled.cancelled, cancelled.signal.aborted]).toEqual([false, true, true]);
    cancelled.dispose();
  });

  it('restarts its idle timer on progress', async () => {
    const deadline = new AttemptDeadline(60);
    for (let i = 0; i < 4; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 30));
      deadline.touch();
    }
    expect(deadline.signal.aborted).toBe(false);
    deadline.dispose();
  });
});
