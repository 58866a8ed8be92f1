/** How a process treats work that leaves the critical path of a turn. */
export interface BackgroundSettings {
  /** 'model': the model rewrites the rolling summary in a job; 'extractive': the turn lifts sentences itself (no call). */
  summaries: 'model' | 'extractive';
  /** A model summary is due each time this many more scenes have left the recent window. */
  summaryEveryScenes: number;
  /** The summed importance of a character's memories since its last reflection that calls for a new one (0: never). */
  reflectionThreshold: number;
  /** Run a story's jobs while its turn waits on the model (false for a model that serves one request at a time). */
  runWhileGenerating: boolean;
}

/**
 * The defaults follow the model: the offline storyteller gains nothing from a "model" summary
 * so it keeps the extractive one, and Ollama serves one request at a time by default, so its
 * background calls wait for the story's turn instead of queueing in front of it.
 */
export function backgroundSettingsFor(
  provider: { name: string; offline: boolean },
  overrides: { summaries?: 'model' | 'extractive' | undefined; summaryEveryScenes?: number | undefined; reflectionThreshold?: number | undefined; runWhileGenerating?: boolean | undefined } = {},
): BackgroundSettings {
  return {
    summaries: overrides.summaries ?? (provider.offline ? 'extractive' : 'model'),
    summaryEveryScenes: overrides.summaryEveryScenes ?? 4,
    // About four scenes of a central character's memories (importance 0..1, a few per scene).
    reflectionThreshold: overrides.reflectionThreshold ?? (provider.offline ? 0 : 8),
    runWhileGenerating: overrides.runWhileGenerating ?? provider.name !== 'ollama',
  };
}
