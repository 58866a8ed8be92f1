import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from './config.js';
import { createLogger, setLogger, type Logger } from './logger.js';
import { migrate, openDatabase, type Database } from './db/index.js';
import type { EngineDeps } from './story/engine-deps.js';
import { selectProvider } from './llm/select-provider.js';
import { createCapabilityStore } from './llm/model-capability-repo.js';
import { selectEmbedder } from './memory/select-embedder.js';
import { ensureEmbeddingSettings } from './memory/embedding-settings.js';

export interface Runtime {
  config: Config;
  log: Logger;
  db: Database;
  close(): Promise<void>;
}

export interface EngineRuntime extends Runtime {
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
export async function openEngineRuntime(options: Parameters<typeof openRuntime>[0] = {}): Promise<EngineRuntime> {
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
    };
    return { ...runtime, deps, providerDescription: selection.description, providerNotice: selection.notice };
  } catch (error) {
    await runtime.close().catch(() => {});
    throw error;
  }
}
