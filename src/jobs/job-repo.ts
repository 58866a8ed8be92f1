import type { Queryable } from '../db/index.js';

export const jobKinds = ['summary', 'reflection', 'embedding'] as const;
export type JobKind = (typeof jobKinds)[number];
export type JobStatus = 'queued' | 'running' | 'done' | 'failed';

/** The NOTIFY channel a turn's commit wakes the workers on when it queues work. */
export const jobsChannel = 'livingworld_jobs';

export interface ClaimedJob {
  storyId: string;
  id: string;
  kind: JobKind;
  sceneId: string;
  payload: Record<string, unknown>;
  attempts: number;
  maxAttempts: number;
  claimId: string;
}

interface ClaimedJobRecord {
  story_id: string;
  id: string;
  kind: JobKind;
  scene_id: string;
  payload: Record<string, unknown>;
  attempts: number;
  max_attempts: number;
  claim_id: string;
}

/**
 * Queues a job inside the transaction that made it due (a turn's commit). A second enqueue
 * of the same (story, kind, scene) is the same job; returns whether this call created it.
 * `again`: work that can come due more than once at a scene (rows to embed) queues a
 * finished job again, with fresh attempts; one queued or running is left as it is (a
 * running one sees the new work when it completes: see JobOutcome.write).
 */
export async function enqueueJob(
  tx: Queryable,
  job: { storyId: string; kind: JobKind; sceneId: string; payload?: Record<string, unknown>; maxAttempts?: number; again?: boolean },
): Promise<boolean> {
  const onConflict = job.again
    ? `DO UPDATE SET status = 'queued', attempts = 0, run_after = now(), finished_at = NULL, updated_at = now()
        WHERE background_jobs.status IN ('done', 'failed')`
    : 'DO NOTHING';
  const { rowCount } = await tx.query(
    `INSERT INTO background_jobs (story_id, kind, scene_id, payload, max_attempts) VALUES ($1, $2, $3, $4::jsonb, $5)
     ON CONFLICT (story_id, kind, scene_id) ${onConflict}`,
    [job.storyId, job.kind, job.sceneId, JSON.stringify(job.payload ?? {}), job.maxAttempts ?? 5],
  );
  return rowCount > 0;
}

/** Queues a job this claim holds again, due at once with fresh attempts (more work came due while it ran). */
export async function requeueJob(tx: Queryable, job: ClaimedJob, note?: string): Promise<void> {
  await tx.query(
    `UPDATE background_jobs SET status = 'queued', attempts = 0, run_after = clock_timestamp(), lease_owner = NULL, claim_id = NULL, lease_expires_at = NULL,
            updated_at = now(), last_error = COALESCE(left($3, 2000), last_error)
      WHERE story_id = $1 AND id = $2`,
    [job.storyId, job.id, note ?? null],
  );
}

/**
 * Claims one due job, in a transaction of its own that locks only that job row (SKIP LOCKED:
 * a job another worker is claiming is passed over, never waited for). Due: queued and past
 * `run_after`, or running under a lease that expired (its worker died). With
 * `skipStoriesGenerating`, a story whose turn is waiting on the model is left alone.
 * A job whose expired lease was its last allowed attempt is marked failed instead.
 */
export async function claimNextJob(
  tx: Queryable,
  claim: { owner: string; leaseMs: number; claimId: string; skipStoriesGenerating: boolean; kinds?: readonly JobKind[] },
): Promise<ClaimedJob | undefined> {
  await tx.query(
    `UPDATE background_jobs SET status = 'failed', lease_owner = NULL, claim_id = NULL, lease_expires_at = NULL, finished_at = now(), updated_at = now(),
            last_error = left(COALESCE(last_error || '; ', '') || 'the worker stopped renewing its lease on the last attempt', 2000)
      WHERE (story_id, id) IN (
        SELECT story_id, id FROM background_jobs
         WHERE status = 'running' AND lease_expires_at < clock_timestamp() AND attempts >= max_attempts
         FOR UPDATE SKIP LOCKED)`,
  );
  const { rows } = await tx.query<ClaimedJobRecord>(
    `WITH next AS (
       SELECT j.story_id, j.id FROM background_jobs j
        WHERE ((j.status = 'queued' AND j.run_after <= clock_timestamp())
               OR (j.status = 'running' AND j.lease_expires_at < clock_timestamp() AND j.attempts < j.max_attempts))
          AND ($4::text[] IS NULL OR j.kind = ANY($4::text[]))
          AND (NOT $5 OR NOT EXISTS (
                SELECT 1 FROM turns t WHERE t.story_id = j.story_id AND t.status = 'generating' AND t.lease_expires_at >= clock_timestamp()))
        ORDER BY j.run_after, j.created_at
        LIMIT 1
        FOR UPDATE OF j SKIP LOCKED
     )
     UPDATE background_jobs j
        SET status = 'running', attempts = j.attempts + 1, lease_owner = $1, claim_id = $3,
            lease_expires_at = clock_timestamp() + $2 * interval '1 millisecond', updated_at = now()
       FROM next
      WHERE j.story_id = next.story_id AND j.id = next.id
      RETURNING j.story_id, j.id, j.kind, j.scene_id, j.payload, j.attempts, j.max_attempts, j.claim_id`,
    [claim.owner, claim.leaseMs, claim.claimId, claim.kinds ?? null, claim.skipStoriesGenerating],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    storyId: row.story_id,
    id: row.id,
    kind: row.kind,
    sceneId: row.scene_id,
    payload: row.payload ?? {},
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    claimId: row.claim_id,
  };
}

/** Extends a claim's lease; false when the claim is no longer the job's (taken over, finished). */
export async function renewJobLease(db: Queryable, job: ClaimedJob, leaseMs: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE background_jobs SET lease_expires_at = clock_timestamp() + $4 * interval '1 millisecond', updated_at = now()
      WHERE story_id = $1 AND id = $2 AND claim_id = $3 AND status = 'running'`,
    [job.storyId, job.id, job.claimId, leaseMs],
  );
  return rowCount > 0;
}

/**
 * Locks the job row for its completion and says whether this claim still holds it. The
 * job's result is written in the same transaction, so a job's effect lands exactly once:
 * a claim that lost its lease (or whose job another claim finished) writes nothing.
 */
export async function lockClaimedJob(tx: Queryable, job: ClaimedJob): Promise<boolean> {
  const { rows } = await tx.query<{ claim_id: string | null; status: JobStatus }>(
    `SELECT claim_id, status FROM background_jobs WHERE story_id = $1 AND id = $2 FOR UPDATE`,
    [job.storyId, job.id],
  );
  return rows[0]?.status === 'running' && rows[0].claim_id === job.claimId;
}

export async function markJobDone(tx: Queryable, job: ClaimedJob, note?: string): Promise<void> {
  await tx.query(
    `UPDATE background_jobs SET status = 'done', lease_owner = NULL, claim_id = NULL, lease_expires_at = NULL, finished_at = now(), updated_at = now(),
            last_error = COALESCE(left($3, 2000), last_error)
      WHERE story_id = $1 AND id = $2`,
    [job.storyId, job.id, note ?? null],
  );
}

/** How long a failed attempt waits before the next: exponential from 1 s, capped at 5 min, with jitter. */
export function jobRetryDelayMs(attempt: number, baseDelayMs = 1_000): number {
  const ceiling = Math.min(300_000, baseDelayMs * 2 ** Math.max(0, attempt - 1));
  // Half jitter: workers that failed together spread out, and the delay still grows.
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/**
 * Records a failed attempt, only if this claim still holds the job: queued again after the
 * backoff delay, or failed for good once its attempts are spent. Returns whether it did.
 */
export async function recordJobFailure(db: Queryable, job: ClaimedJob, error: string, retryDelayMs: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE background_jobs
        SET status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
            finished_at = CASE WHEN attempts >= max_attempts THEN now() END,
            run_after = clock_timestamp() + $4 * interval '1 millisecond',
            last_error = left($5, 2000), lease_owner = NULL, claim_id = NULL, lease_expires_at = NULL, updated_at = now()
      WHERE story_id = $1 AND id = $2 AND claim_id = $3 AND status = 'running'`,
    [job.storyId, job.id, job.claimId, retryDelayMs, error],
  );
  return rowCount > 0;
}

/** Gives a job back untouched (its worker is stopping): due again at once, the attempt not counted. */
export async function releaseJob(db: Queryable, job: ClaimedJob): Promise<void> {
  await db.query(
    `UPDATE background_jobs SET status = 'queued', attempts = GREATEST(0, attempts - 1), run_after = clock_timestamp(),
            lease_owner = NULL, claim_id = NULL, lease_expires_at = NULL, updated_at = now()
      WHERE story_id = $1 AND id = $2 AND claim_id = $3 AND status = 'running'`,
    [job.storyId, job.id, job.claimId],
  );
}

export interface JobCounts {
  kind: JobKind;
  status: JobStatus;
  count: number;
}

/** Jobs by kind and status (a running job whose lease expired counts as queued: it is due again). */
export async function countJobs(db: Queryable, storyId?: string): Promise<JobCounts[]> {
  const { rows } = await db.query<{ kind: JobKind; status: JobStatus; count: number }>(
    `SELECT kind,
            CASE WHEN status = 'running' AND lease_expires_at < clock_timestamp() THEN 'queued' ELSE status END AS status,
            count(*)::int AS count
       FROM background_jobs WHERE ($1::uuid IS NULL OR story_id = $1)
      GROUP BY 1, 2 ORDER BY 1, 2`,
    [storyId ?? null],
  );
  return rows;
}
