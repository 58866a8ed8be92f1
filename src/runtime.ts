import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from './config.js';
import { createLogger, setLogger, type Logger } from './logger.js';
import { migrate, openDatabase, type Database } from './db/index.js';
import type { EngineDeps } from './story/engine-deps.js';
import type { JobWorker } from './jobs/index.js';

export interface Runtime {
  config: Config;
  log: Logger;
  db: Database;
  close(): Promise<void>;
}

export interface EngineRuntime extends Runtime {
  /** Runs queued background work, when asked for with `backgroundWorker`. */
  worker?: JobWorker;
  deps: EngineDeps & { defaultSeed: number };
  /** e.g. "offline storyteller (procedural-v1)"; every interface shows it. */
  providerDescription: string;
  /** Why the provider is not the one asked for, if so. */
  providerNotice: string | undefined;
}

/** Config, logger and a migrated database: what every command needs. */
export async function openRuntime(options: { defaultLogLevel?: string; applicationName?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Runtime> {
  const config = loadConfig(options.env);
  const log = createLogger(config.logLevel ?? options.defaultLogLevel ?? 'warn');
  setLogger(log);
  const db = await openDatabase(config, {
    ...(options.applicationName ? { applicationName: options.applicationName } : {}),
    // Only a person at a terminal needs telling why the first start waits.
    onSlowStart: (message) => {
      if (process.stderr.isTTY) process.stderr.write(`${message}\n`);
    },
  });
  try {
    await migrate(db);
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
  return { config, log, db, close: () => db.close() };
}

/** Adds the model provider and embedder for commands that write scenes. */
export async function openEngineRuntime(options: Parameters<typeof openRuntime>[0] & { backgroundWorker?: boolean } = {}): Promise<EngineRuntime> {
  // The model clients, embedders and job handlers are loaded only here: commands that only
  // read the database (`list`, `show`, …) start a few hundred ms faster without them.
  const [{ selectProvider }, { createCapabilityStore }, { selectEmbedder }, { ensureEmbeddingSettings }, { backgroundSettingsFor, startJobWorker }, { createBackgroundJobHandlers }] =
    await Promise.all([
      import('./llm/select-provider.js'),
      import('./llm/model-capability-repo.js'),
      import('./memory/select-embedder.js'),
      import('./memory/embedding-settings.js'),
      import('./jobs/index.js'),
      import('./story/background-job-handlers.js'),
    ]);
  const runtime = await openRuntime(options);
  try {
    const selection = await selectProvider(runtime.config, { capabilityStore: createCapabilityStore(runtime.db) });
    const embedder = await selectEmbedder(runtime.config);
    await ensureEmbeddingSettings(runtime.db, embedder);
    const deps: EngineRuntime['deps'] = {
      db: runtime.db,
      provider: selection.provider,
      embedder,
      log: runtime.log,
      leaseMs: runtime.config.turnLeaseMs,
      instanceId: `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
      choiceCount: 3,
      defaultSeed: runtime.config.offlineSeed,
      background: backgroundSettingsFor(selection.provider, {
        summaries: runtime.config.summaries,
        summaryEveryScenes: runtime.config.summaryEveryScenes,
        reflectionThreshold: runtime.config.reflectionThreshold,
        runWhileGenerating: runtime.config.backgroundWhileGenerating,
      }),
    };
    // Long-running processes (serve, the interactive loop) run the queue; one-shot commands only add to it.
    const worker =
      options.backgroundWorker && runtime.config.backgroundJobs
        ? await startJobWorker({
            db: runtime.db,
            log: runtime.log,
            handlers: createBackgroundJobHandlers(deps),
            owner: deps.instanceId,
            leaseMs: runtime.config.jobLeaseMs,
            skipStoriesGenerating: !deps.background!.runWhileGenerating,
          })
        : undefined;
    const close = async () => {
      await worker?.stop();
      await runtime.close();
    };
    return { ...runtime, close, deps, ...(worker ? { worker } : {}), providerDescription: selection.description, providerNotice: selection.notice };
  } catch (error) {
    await runtime.close().catch(() => {});
    throw error;
  }
}
