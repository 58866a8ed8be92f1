import { randomUUID } from 'node:crypto';
import { retryOnConnectionLoss, withTransaction, type Database, type Queryable } from '../db/index.js';
import { toAppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { backgroundJobRuns } from '../metrics.js';
import {
  claimNextJob,
  jobRetryDelayMs,
  jobsChannel,
  lockClaimedJob,
  markJobDone,
  recordJobFailure,
  releaseJob,
  requeueJob,
  renewJobLease,
  type ClaimedJob,
  type JobKind,
} from './job-repo.js';

/** What a job's work produced: the write that lands it, run in the completion transaction. */
export interface JobOutcome {
  /** `runAgain`: more work came due while the job ran; it is queued again instead of done. */
  write: (tx: Queryable) => Promise<void | { runAgain: true }>;
  /** Kept on the job (e.g. that the fallback was used). */
  note?: string;
}

/** Does one kind of job with no transaction open (model calls, embeddings) and says what to write. */
export type JobHandler = (job: ClaimedJob, signal: AbortSignal) => Promise<JobOutcome>;

export interface JobWorkerOptions {
  db: Database;
  log: Logger;
  handlers: Partial<Record<JobKind, JobHandler>>;
  /** Names this process in leases. */
  owner: string;
  leaseMs?: number;
  /** How often the worker looks for due work when nothing wakes it. */
  pollMs?: number;
  /** Leave a story alone while its turn waits on the model (a model that serves one request at a time). */
  skipStoriesGenerating: boolean;
}

export interface JobWorker {
  /** Claims and runs one due job; false when none was due. */
  runOnce(): Promise<boolean>;
  /** Runs due jobs until none is left. */
  drain(): Promise<number>;
  /** Looks for work now rather than at the next poll. */
  wake(): void;
  /** Stops looking for work; a job in progress is given back unwritten for another worker. */
  stop(): Promise<void>;
}

/**
 * Runs background jobs: claim (a short transaction), work (none open), complete (a short
 * transaction that writes the result only if this claim still holds the job). Whoever runs
 * a job, its effect lands once; a worker killed mid-job leaves it to be taken over when its
 * lease expires. One job at a time per worker.
 */
export function createJobWorker(options: JobWorkerOptions): JobWorker {
  const { db, log } = options;
  const leaseMs = options.leaseMs ?? 30_000;
  const pollMs = options.pollMs ?? 1_000;
  const kinds = Object.keys(options.handlers) as JobKind[];
  let stopped = false;
  let current: AbortController | undefined;
  let wakeUp: (() => void) | undefined;

  async function runJob(job: ClaimedJob): Promise<void> {
    const handler = options.handlers[job.kind]!;
    const jobLog = log.child({ storyId: job.storyId, jobId: job.id, kind: job.kind, attempt: job.attempts });
    const controller = new AbortController();
    current = controller;
    let leaseLost = false;
    const heartbeat = setInterval(() => {
      renewJobLease(db, job, leaseMs).then(
        (ours) => {
          if (!ours) {
            leaseLost = true;
            controller.abort();
          }
        },
        (error: unknown) => jobLog.warn({ err: error }, 'could not renew the job lease'),
      );
    }, Math.max(50, Math.floor(leaseMs / 3)));
    try {
      const outcome = await handler(job, controller.signal);
      clearInterval(heartbeat);
      if (controller.signal.aborted) throw new Error(leaseLost ? 'lost the job lease' : 'the worker stopped');
      const landed = await withTransaction(db, {}, async (tx) => {
        if (!(await lockClaimedJob(tx, job))) return false;
        const written = await outcome.write(tx);
        if (written?.runAgain) await requeueJob(tx, job, outcome.note);
        else await markJobDone(tx, job, outcome.note);
        return true;
      });
      backgroundJobRuns.inc({ kind: job.kind, outcome: landed ? 'done' : 'lost_lease' });
      if (!landed) jobLog.warn('another worker took the job over; this result was dropped');
    } catch (error) {
      clearInterval(heartbeat);
      if (leaseLost) {
        backgroundJobRuns.inc({ kind: job.kind, outcome: 'lost_lease' });
        jobLog.warn('lost the job lease; the job is another worker’s now');
        return;
      }
      if (stopped) {
        // Handed back at once rather than left to its lease; if this fails the lease expires.
        await releaseJob(db, job).catch(() => {});
        return;
      }
      const failure = toAppError(error);
      const final = job.attempts >= job.maxAttempts;
      // Kept for operators (stats, logs), so the real cause rather than the public message.
      const cause = failure.code === 'internal' && error instanceof Error ? error.message : failure.message;
      const recorded = await retryOnConnectionLoss(() => recordJobFailure(db, job, `${failure.code}: ${cause}`, jobRetryDelayMs(job.attempts))).catch(
        (recordError: unknown) => {
          jobLog.error({ err: recordError }, 'could not record the job failure; its lease will expire');
          return false;
        },
      );
      backgroundJobRuns.inc({ kind: job.kind, outcome: final ? 'failed' : 'retry' });
      if (recorded) jobLog.warn({ code: failure.code, message: failure.message, final }, final ? 'background job failed for good' : 'background job failed; it will be retried');
      if (failure.code === 'internal') jobLog.error({ err: error }, 'background job error');
    } finally {
      clearInterval(heartbeat);
      current = undefined;
    }
  }

  async function runOnce(): Promise<boolean> {
    if (kinds.length === 0) return false;
    const claimId = randomUUID();
    const job = await withTransaction(db, {}, (tx) =>
      claimNextJob(tx, { owner: options.owner, leaseMs, claimId, skipStoriesGenerating: options.skipStoriesGenerating, kinds }),
    );
    if (!job) return false;
    await runJob(job);
    return true;
  }

  let loop: Promise<void> | undefined;
  let unlisten: (() => Promise<void>) | undefined;

  async function runLoop(): Promise<void> {
    while (!stopped) {
      let ran = false;
      try {
        ran = await runOnce();
      } catch (error) {
        log.warn({ err: error }, 'could not claim background work; trying again shortly');
      }
      if (ran || stopped) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeUp = undefined;
    }
  }

  const worker: JobWorker & { start(): Promise<void> } = {
    runOnce,
    async drain() {
      let ran = 0;
      while (await runOnce()) ran++;
      return ran;
    },
    wake() {
      wakeUp?.();
    },
    async start() {
      unlisten = await db.listen(jobsChannel, () => worker.wake(), () => worker.wake()).catch((error: unknown) => {
        log.warn({ err: error }, 'cannot listen for queued work; polling only');
        return undefined;
      });
      loop = runLoop();
    },
    async stop() {
      stopped = true;
      wakeUp?.();
      current?.abort();
      await loop?.catch(() => {});
      await unlisten?.().catch(() => {});
    },
  };
  return worker;
}

/** A worker that runs until stopped, woken by the NOTIFY a turn's commit sends when it queues work. */
export async function startJobWorker(options: JobWorkerOptions): Promise<JobWorker> {
  const worker = createJobWorker(options) as JobWorker & { start(): Promise<void> };
  await worker.start();
  return worker;
}
