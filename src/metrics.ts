import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';

/**
 * The process's metrics. prom-client costs every command about 50 ms of start-up to load, and
 * most commands (`list`, `show`) never record a metric: it is loaded, and every metric made,
 * the first time any of them is used. The exports are stand-ins that forward to the real
 * metric, so callers use them as prom-client objects.
 */
const require = createRequire(import.meta.url);

function createMetrics() {
  const { Counter, Histogram, Gauge, Registry } = require('prom-client') as typeof PromClient;
  /** One registry per process; `/metrics` and `livingworld stats` read from it. */
  const registry = new Registry();
  return {
    registry,
    lockWaitSeconds: new Histogram({
      name: 'livingworld_lock_wait_seconds',
      help: 'Time spent waiting to acquire a row or advisory lock',
      labelNames: ['lock'] as const,
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    transactionRetries: new Counter({
      name: 'livingworld_transaction_retries_total',
      help: 'Transactions retried, by SQLSTATE',
      labelNames: ['sqlstate'] as const,
      registers: [registry],
    }),
    transactionSeconds: new Histogram({
      name: 'livingworld_transaction_seconds',
      help: 'Duration of transactions run through the transaction helper',
      labelNames: ['outcome'] as const,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [registry],
    }),
    turnEvents: new Counter({
      name: 'livingworld_turn_events_total',
      help: 'Turn protocol events: started, joined, conflict, takeover, succeeded, failed, replayed, followed (moved to an authored scene)',
      labelNames: ['event'] as const,
      registers: [registry],
    }),
    modelCalls: new Counter({
      name: 'livingworld_model_calls_total',
      help: 'Calls to the language model, by provider and purpose',
      labelNames: ['provider', 'purpose', 'outcome'] as const,
      registers: [registry],
    }),
    modelLatencySeconds: new Histogram({
      name: 'livingworld_model_latency_seconds',
      help: 'Latency of language model calls',
      labelNames: ['provider'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    modelTokens: new Counter({
      name: 'livingworld_model_tokens_total',
      help: 'Tokens reported by the model provider',
      labelNames: ['provider', 'kind'] as const,
      registers: [registry],
    }),
    poolConnections: new Gauge({
      name: 'livingworld_pool_connections',
      help: 'Database pool connections by state',
      labelNames: ['state'] as const,
      registers: [registry],
    }),
    backgroundJobs: new Gauge({
      name: 'livingworld_background_jobs',
      help: 'Background jobs in the database by kind and status (queued, running, failed, done), read at scrape time',
      labelNames: ['kind', 'status'] as const,
      registers: [registry],
    }),
    backgroundJobRuns: new Counter({
      name: 'livingworld_background_job_runs_total',
      help: 'Background job attempts run by this process, by kind and outcome (done, retry, failed, lost_lease)',
      labelNames: ['kind', 'outcome'] as const,
      registers: [registry],
    }),
    embeddingsDeferred: new Counter({
      name: 'livingworld_embeddings_deferred_total',
      help: 'Times the embedder failed and rows were stored without embeddings for a background back-fill, by where (turn, retrieval, import, lore)',
      labelNames: ['where'] as const,
      registers: [registry],
    }),
  };
}

type Metrics = ReturnType<typeof createMetrics>;
let metrics: Metrics | undefined;

function standIn<K extends keyof Metrics>(name: K): Metrics[K] {
  return new Proxy({} as Metrics[K], {
    get(_target, key) {
      metrics ??= createMetrics();
      const metric = metrics[name];
      const value: unknown = Reflect.get(metric, key, metric);
      return typeof value === 'function' ? value.bind(metric) : value;
    },
  });
}

export const metricsRegistry = standIn('registry');

export const lockWaitSeconds = standIn('lockWaitSeconds');
export const transactionRetries = standIn('transactionRetries');
export const transactionSeconds = standIn('transactionSeconds');
export const turnEvents = standIn('turnEvents');
export const modelCalls = standIn('modelCalls');
export const modelLatencySeconds = standIn('modelLatencySeconds');
export const modelTokens = standIn('modelTokens');
export const poolConnections = standIn('poolConnections');
export const backgroundJobs = standIn('backgroundJobs');
export const backgroundJobRuns = standIn('backgroundJobRuns');
export const embeddingsDeferred = standIn('embeddingsDeferred');

let defaultMetricsStarted = false;
export function collectProcessMetrics(): void {
  if (defaultMetricsStarted) return;
  defaultMetricsStarted = true;
  (require('prom-client') as typeof PromClient).collectDefaultMetrics({ register: metricsRegistry, prefix: 'livingworld_' });
}
