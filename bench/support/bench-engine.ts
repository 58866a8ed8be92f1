import { pino } from 'pino';
import type { Database } from '../../src/db/index.js';
import type { ModelProvider } from '../../src/llm/provider.js';
import type { Embedder } from '../../src/memory/embedder.js';
import { createOfflineEmbedder } from '../../src/memory/embedders/offline.js';
import type { EngineDeps } from '../../src/story/engine-deps.js';

let instance = 0;
let sharedEmbedder: Promise<Embedder> | undefined;

/** The offline embedder the product ships with, loaded once per process. */
export function loadOfflineEmbedder(): Promise<Embedder> {
  sharedEmbedder ??= createOfflineEmbedder();
  return sharedEmbedder;
}

/** Engine dependencies as the CLI and server build them, with silent logs. */
export function createBenchEngine(
  db: Database,
  provider: ModelProvider,
  embedder: Embedder,
  options: { leaseMs?: number; instanceId?: string } = {},
): EngineDeps & { defaultSeed: number } {
  return {
    db,
    provider,
    embedder,
    log: pino({ level: process.env['BENCH_LOG_LEVEL'] ?? 'silent' }),
    leaseMs: options.leaseMs ?? 30_000,
    instanceId: options.instanceId ?? `bench-${process.pid}-${++instance}`,
    choiceCount: 3,
    defaultSeed: 7,
  };
}
