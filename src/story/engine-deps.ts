import type { Database } from '../db/index.js';
import type { ModelProvider } from '../llm/provider.js';
import type { Embedder } from '../memory/embedder.js';
import type { Logger } from '../logger.js';
import type { BackgroundSettings } from '../jobs/background-settings.js';

/** What the story use cases need; built once per process by the CLI or the server. */
export interface EngineDeps {
  db: Database;
  provider: ModelProvider;
  embedder: Embedder;
  log: Logger;
  /** How long a generating turn is owned without a heartbeat before another request may take it over. */
  leaseMs: number;
  /** Names this process in turn leases (for logs and takeover). */
  instanceId: string;
  /** Choices offered per scene. */
  choiceCount: number;
  /** Work queued for background jobs; absent: summaries are extractive and nothing is queued. */
  background?: BackgroundSettings;
}

/** The NOTIFY channel carrying turn and scene events as JSON. */
export const eventsChannel = 'livingworld_events';

export type StoryEvent =
  | { type: 'scene'; storyId: string; sceneId: string; turnId: string | null; version: number }
  | { type: 'head'; storyId: string; sceneId: string; version: number }
  | { type: 'turn'; storyId: string; turnId: string; status: 'succeeded' | 'failed' };
