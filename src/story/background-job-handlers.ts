import type { JobHandler, JobKind } from '../jobs/index.js';
import type { EngineDeps } from './engine-deps.js';
import { createSummaryJobHandler } from './summary-job.js';
import { createReflectionJobHandler } from '../characters/reflection-job.js';
import { createEmbeddingBackfillHandler } from '../memory/embedding-backfill.js';

/** Every kind of background job the engine queues, with what runs it. */
export function createBackgroundJobHandlers(deps: EngineDeps): Partial<Record<JobKind, JobHandler>> {
  const settings = deps.background;
  return {
    summary: createSummaryJobHandler(deps, { everyScenes: settings?.summaryEveryScenes ?? 4 }),
    reflection: createReflectionJobHandler(deps),
    embedding: createEmbeddingBackfillHandler(deps),
  };
}
