import { Counter, Histogram, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per process; `/metrics` and `livingworld stats` read from it. */
export const metricsRegistry = new Registry();

export const lockWaitSeconds = new Histogram({
  name: 'livingworld_lock_wait_seconds',
  help: 'Time spent waiting to acquire a row or advisory lock',
  labelNames: ['lock'] as const,
  buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metricsRegistry],
});

export const transactionRetries = new Counter({
  name: 'livingworld_transaction_retries_total',
  help: 'Transactions retried, by SQLSTATE',
  labelNames: ['sqlstate'] as const,
  registers: [metricsRegistry],
});

export const transactionSeconds = new Histogram({
  name: 'livingworld_transaction_seconds',
  help: 'Duration of transactions run through the transaction helper',
  labelNames: ['outcome'] as const,
  buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
  registers: [metricsRegistry],
});

export const turnEvents = new Counter({
  name: 'livingworld_turn_events_total',
  help: 'Turn protocol events: started, joined, conflict, takeover, succeeded, failed, replayed, followed (moved to an authored scene)',
  labelNames: ['event'] as const,
  registers: [metricsRegistry],
});

export const modelCalls = new Counter({
  name: 'livingworld_model_calls_total',
  help: 'Calls to the language model, by provider and purpose',
  labelNames: ['provider', 'purpose', 'outcome'] as const,
  registers: [metricsRegistry],
});

export const modelLatencySeconds = new Histogram({
  name: 'livingworld_model_latency_seconds',
  help: 'Latency of language model calls',
  labelNames: ['provider'] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
  registers: [metricsRegistry],
});

export const modelTokens = new Counter({
  name: 'livingworld_model_tokens_total',
  help: 'Tokens reported by the model provider',
  labelNames: ['provider', 'kind'] as const,
  registers: [metricsRegistry],
});

export const poolConnections = new Gauge({
  name: 'livingworld_pool_connections',
  help: 'Database pool connections by state',
  labelNames: ['state'] as const,
  registers: [metricsRegistry],
});

let defaultMetricsStarted = false;
export function collectProcessMetrics(): void {
  if (defaultMetricsStarted) return;
  defaultMetricsStarted = true;
  collectDefaultMetrics({ register: metricsRegistry, prefix: 'livingworld_' });
}

export const backgroundJobs = new Gauge({
  name: 'livingworld_background_jobs',
  help: 'Background jobs in the database by kind and status (queued, running, failed, done), read at scrape time',
  labelNames: ['kind', 'status'] as const,
  registers: [metricsRegistry],
});

export const backgroundJobRuns = new Counter({
  name: 'livingworld_background_job_runs_total',
  help: 'Background job attempts run by this process, by kind and outcome (done, retry, failed, lost_lease)',
  labelNames: ['kind', 'outcome'] as const,
  registers: [metricsRegistry],
});

export const embeddingsDeferred = new Counter({
  name: 'livingworld_embeddings_deferred_total',
  help: 'Times the embedder failed and rows were stored without embeddings for a background back-fill, by where (turn, retrieval, import, lore)',
  labelNames: ['where'] as const,
  registers: [metricsRegistry],
});
