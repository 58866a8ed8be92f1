import { pino } from 'pino';
import type { Database } from '../../src/db/index.js';
import type { ModelProvider } from '../../src/llm/provider.js';
import type { EngineDeps } from '../../src/story/engine-deps.js';
import { createTestEmbedder } from './test-embedder.js';

let instance = 0;

/** Engine dependencies for tests: silent logs, a small deterministic embedder, short leases. */
export function createTestEngine(db: Database, provider: ModelProvider, options: { leaseMs?: number; instanceId?: string } = {}): EngineDeps & { defaultSeed: number } {
  return {
    db,
    provider,
    embedder: createTestEmbedder(),
    log: pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' }),
    leaseMs: options.leaseMs ?? 5_000,
    instanceId: options.instanceId ?? `test-${process.pid}-${++instance}`,
    choiceCount: 3,
    defaultSeed: 7,
  };
}
