import type { Queryable } from '../db/index.js';

export const modelCallPurposes = ['scene', 'repair', 'summary', 'reflection', 'talk'] as const;
export type ModelCallPurpose = (typeof modelCallPurposes)[number];

/** The purpose a request names, as counted per story; anything else counts as a scene call. */
export function countedPurpose(purpose: string | undefined): ModelCallPurpose {
  return (modelCallPurposes as readonly string[]).includes(purpose ?? '') ? (purpose as ModelCallPurpose) : 'scene';
}

/**
 * Records how many calls one source (a turn's generation, a job's claim, a talk) has started
 * for a purpose. The count is absolute: a write resent after a lost reply counts nothing twice.
 */
export async function recordModelCalls(db: Queryable, input: { storyId: string; sourceId: string; purpose: ModelCallPurpose; calls: number }): Promise<void> {
  if (input.calls <= 0) return;
  await db.query(
    `INSERT INTO model_call_counts (story_id, source_id, purpose, calls) VALUES ($1, $2, $3, $4)
     ON CONFLICT (story_id, source_id, purpose) DO UPDATE SET calls = GREATEST(model_call_counts.calls, EXCLUDED.calls), updated_at = now()`,
    [input.storyId, input.sourceId, input.purpose, input.calls],
  );
}

/** Calls by purpose, for one story or all of them; every purpose is listed, zero included. */
export async function readModelCallsByPurpose(db: Queryable, storyId?: string): Promise<Record<ModelCallPurpose, number>> {
  const { rows } = await db.query<{ purpose: ModelCallPurpose; calls: number }>(
    `SELECT purpose, COALESCE(sum(calls), 0)::int AS calls FROM model_call_counts WHERE ($1::uuid IS NULL OR story_id = $1) GROUP BY purpose`,
    [storyId ?? null],
  );
  const counts = Object.fromEntries(modelCallPurposes.map((purpose) => [purpose, 0])) as Record<ModelCallPurpose, number>;
  for (const row of rows) counts[row.purpose] = row.calls;
  return counts;
}
