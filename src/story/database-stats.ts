import type { Queryable } from '../db/index.js';
import { countJobs } from '../jobs/index.js';
import { readModelCallsByPurpose } from '../llm/model-call-counts.js';

/**
 * Figures kept in the database, so they cover every process: turns by status, takeovers
 * (attempts beyond the first), model calls against scenes written, failures by code, model
 * calls by purpose and background jobs by kind and status.
 */
export async function readDatabaseStats(db: Queryable, options: { storyId?: string } = {}): Promise<Record<string, unknown>> {
  const { rows } = await db.query<Record<string, number>>(
    `SELECT (SELECT count(*)::int FROM stories) AS stories,
            (SELECT count(*)::int FROM scenes) AS scenes,
            (SELECT count(*)::int FROM characters) AS characters,
            (SELECT count(*)::int FROM turns) AS turns,
            (SELECT count(*)::int FROM turns WHERE status = 'succeeded') AS turns_succeeded,
            (SELECT count(*)::int FROM turns WHERE status = 'failed') AS turns_failed,
            (SELECT count(*)::int FROM turns WHERE status = 'generating') AS turns_generating,
            (SELECT count(*)::int FROM turns WHERE status = 'generating' AND lease_expires_at < now()) AS turns_with_expired_lease,
            (SELECT COALESCE(sum(attempts - 1), 0)::int FROM turns) AS takeovers_and_retries,
            (SELECT COALESCE(sum(model_calls), 0)::int FROM turns) AS model_calls`,
  );
  const failures = await db.query<{ error_code: string; n: number }>(
    `SELECT error_code, count(*)::int AS n FROM turns WHERE status = 'failed' GROUP BY error_code ORDER BY n DESC`,
  );
  const row = rows[0]!;
  const jobsByKind = async (storyId?: string) => {
    const jobs: Record<string, Record<string, number>> = {};
    for (const job of await countJobs(db, storyId)) (jobs[job.kind] ??= { queued: 0, running: 0, failed: 0, done: 0 })[job.status] = job.count;
    return jobs;
  };
  return {
    ...row,
    model_calls_per_scene: row['scenes'] ? Number((row['model_calls']! / row['scenes']).toFixed(3)) : 0,
    failures_by_code: Object.fromEntries(failures.rows.map((f) => [f.error_code, f.n])),
    // Every call at the model, background work included, by what it was for.
    model_calls_by_purpose: await readModelCallsByPurpose(db),
    background_jobs: await jobsByKind(),
    ...(options.storyId
      ? { story: { id: options.storyId, model_calls_by_purpose: await readModelCallsByPurpose(db, options.storyId), background_jobs: await jobsByKind(options.storyId) } }
      : {}),
  };
}
