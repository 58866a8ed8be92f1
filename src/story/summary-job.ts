import type { ClaimedJob, JobHandler } from '../jobs/index.js';
import { AppError } from '../errors.js';
import { planSummaryUpdate, storeSummary, summariseScenesLocally } from '../memory/summarise.js';
import type { EngineDeps } from './engine-deps.js';
import { callModel } from './generate-scene.js';
import { buildSummaryRequest } from './prompts.js';
import { createSourceCallCounter } from './turn-call-counter.js';

/** The recent window the context builder shows in full; the summary covers what came before it. */
export const summaryRecentWindow = 4;

/**
 * Whether the scene numbered `sceneNumber` makes a model summary due: each time
 * `everyScenes` more scenes have left the recent window. A rule of the scene number alone,
 * so a branch's summaries are due at the same depths whatever happened on other branches.
 */
export function isSummaryDue(sceneNumber: number, everyScenes: number): boolean {
  const left = sceneNumber - summaryRecentWindow;
  return left > 0 && left % Math.max(1, everyScenes) === 0;
}

async function sceneNumberOf(deps: EngineDeps, job: ClaimedJob): Promise<number> {
  const { rows } = await deps.db.query<{ scene_number: number }>(`SELECT scene_number FROM scenes WHERE story_id = $1 AND id = $2`, [job.storyId, job.sceneId]);
  if (!rows[0]) throw new AppError('not_found', `The scene ${job.sceneId} of this summary job is gone.`);
  return rows[0].scene_number;
}

/**
 * The model rewrites the rolling summary of the job's scene's path: the newest summary on
 * that path plus the scenes that have left the window since, asked to keep names, places,
 * promises, injuries, possessions and open questions. Stored against the job's scene. When
 * the model fails on the job's last attempt, the extractive summary is stored instead.
 */
export function createSummaryJobHandler(deps: EngineDeps, options: { everyScenes: number }): JobHandler {
  return async (job, signal) => {
    const sceneNumber = await sceneNumberOf(deps, job);
    const plan = await planSummaryUpdate(deps.db, job.storyId, sceneNumber, {
      pathSceneId: job.sceneId,
      recentWindow: summaryRecentWindow,
      // A summary that fell behind (failed jobs) catches up, a bounded step at a time.
      maxScenesPerUpdate: Math.max(8, options.everyScenes * 3),
    });
    if (!plan.needed) return { write: async () => {}, note: 'nothing new to summarise' };
    const { rows } = await deps.db.query<{ seed: number }>(`SELECT seed FROM stories WHERE id = $1`, [job.storyId]);
    const request = buildSummaryRequest({
      scenes: plan.scenesToAdd.map((scene) => scene.content),
      ...(plan.previousSummary ? { previousSummary: plan.previousSummary } : {}),
      seed: (rows[0]?.seed ?? 0) ^ sceneNumber,
    });
    const calls = createSourceCallCounter(deps.db, { storyId: job.storyId, sourceId: `job:${job.id}:${job.claimId}`, purpose: 'summary' }, deps.log);
    let content: string;
    let note: string | undefined;
    try {
      const completion = await callModel(deps.provider, request, signal, { countCall: () => calls.start() });
      content = completion.text.trim();
      if (content === '') throw new AppError('llm_bad_output', 'The model wrote an empty summary.');
    } catch (error) {
      if (job.attempts < job.maxAttempts || signal.aborted) throw error;
      content = summariseScenesLocally(plan.previousSummary, plan.scenesToAdd);
      note = `the model failed on the last attempt (${error instanceof Error ? error.message : String(error)}); stored the extractive summary`;
    }
    const [embedding] = await deps.embedder.embed([content], signal);
    return {
      write: async (tx) => {
        await storeSummary(tx, { storyId: job.storyId, sceneId: job.sceneId, content, throughSceneNumber: plan.throughSceneNumber, embedding: embedding ?? null });
      },
      ...(note ? { note } : {}),
    };
  };
}
