import type { Queryable } from '../db/index.js';

export const modelCallPurposes = ['scene', 'repair', 'summary', 'reflection', 'talk'] as const;
export type ModelCallPurpose = (typeof modelCallPurposes)[number];

/** The purpose a request names, as counted per story; anything else counts as a scene call. */
export function countedPurpose(purpose: string | undefined): ModelCallPurpose {
  return (modelCallPurposes as readonly string[]).includes(purpose ?? '') ? (purpose as ModelCallPurpose) : 'scene';
}

/** The upsert that records a source's absolute count, with the placeholders of (story, source, purpose, calls). */
export function upsertModelCallsSql(story: string, source: string, purpose: string, calls: string): string {
  return `INSERT INTO model_call_counts (story_id, source_id, purpose, calls) VALUES (${story}, ${source}, ${purpose}, ${calls})
     ON CONFLICT (story_id, source_id, purpose) DO UPDATE SET calls = GREATEST(model_call_counts.calls, EXCLUDED.calls), updated_at = now()`;
}

/**
 * Records how many calls one source (a turn's generation, a job's claim, a talk) has started
 * for a purpose. The count is absolute: a write resent after a lost reply counts nothing twice.
 */
export async function recordModelCalls(db: Queryable, input: { storyId: string; sourceId: string; purpose: ModelCallPurpose; calls: number }): Promise<void> {
  if (input.calls <= 0) return;
  await db.query(upsertModelCallsSql('$1', '$2', '$3', '$4'), [input.storyId, input.sourceId, input.purpose, input.calls]);
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
