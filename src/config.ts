import path from 'node:path';
import { z } from 'zod';
import { AppError } from './errors.js';

const optionalUrl = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const envSchema = z.object({
  DATABASE_URL: optionalUrl,
  LIVINGWORLD_DATA_DIR: z.string().trim().min(1).default('./.livingworld'),
  LLM_PROVIDER: z.enum(['auto', 'offline', 'ollama', 'openai']).default('auto'),
  OLLAMA_HOST: z.string().trim().url().default('http://127.0.0.1:11434'),
  OLLAMA_MODEL: z.string().trim().optional(),
  OPENAI_BASE_URL: optionalUrl,
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_MODEL: z.string().trim().optional(),
  EMBEDDINGS_PROVIDER: z.enum(['offline', 'ollama', 'openai']).default('offline'),
  EMBEDDINGS_MODEL: z.string().trim().optional(),
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  LIVINGWORLD_OFFLINE_SEED: z.coerce.number().int().default(1),
  // Simulated model latency for the offline storyteller (demos, streaming tests, benchmarks).
  LIVINGWORLD_OFFLINE_LATENCY_MS: z.coerce.number().int().min(0).max(600_000).default(0),
  LIVINGWORLD_LLM_TIMEOUT_MS: z.coerce.number().int().positive().default(120_000),
  // Caps the context window asked of a model (Ollama's num_ctx) on machines short of memory.
  LIVINGWORLD_CONTEXT_TOKENS: z.coerce.number().int().min(1024).max(10_000_000).optional(),
  LIVINGWORLD_THINK: z.enum(['auto', 'on', 'off']).default('auto'),
  // The longest a model call waits in all for rate limits (Retry-After) and retries.
  LIVINGWORLD_LLM_MAX_RETRY_WAIT_MS: z.coerce.number().int().min(0).max(3_600_000).default(60_000),
  LIVINGWORLD_TURN_LEASE_MS: z.coerce.number().int().min(100).default(30_000),
  LIVINGWORLD_STATEMENT_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  LIVINGWORLD_LOCK_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
  LIVINGWORLD_POOL_SIZE: z.coerce.number().int().min(1).max(500).default(10),
  LIVINGWORLD_ISOLATION: z.enum(['read committed', 'serializable']).default('read committed'),
  // Background work (model-written summaries, reflections): see src/jobs.
  LIVINGWORLD_BACKGROUND_JOBS: z.enum(['on', 'off']).default('on'),
  LIVINGWORLD_BACKGROUND_WHILE_GENERATING: z.enum(['true', 'false']).optional(),
  LIVINGWORLD_SUMMARIES: z.enum(['model', 'extractive']).optional(),
  LIVINGWORLD_SUMMARY_EVERY: z.coerce.number().int().min(1).max(1000).default(4),
  LIVINGWORLD_REFLECTION_THRESHOLD: z.coerce.number().min(0).max(1000).optional(),
  LIVINGWORLD_JOB_LEASE_MS: z.coerce.number().int().min(100).default(30_000),
});

export type Config = Readonly<{
  databaseUrl: string | undefined;
  dataDir: string;
  llmProvider: 'auto' | 'offline' | 'ollama' | 'openai';
  ollamaHost: string;
  ollamaModel: string | undefined;
  openaiBaseUrl: string | undefined;
  openaiApiKey: string | undefined;
  openaiModel: string | undefined;
  embeddingsProvider: 'offline' | 'ollama' | 'openai';
  embeddingsModel: string | undefined;
  host: string;
  port: number;
  logLevel: string | undefined;
  offlineSeed: number;
  offlineLatencyMs: number;
  llmTimeoutMs: number;
  contextTokens: number | undefined;
  think: 'auto' | 'on' | 'off';
  llmMaxRetryWaitMs: number;
  turnLeaseMs: number;
  statementTimeoutMs: number;
  lockTimeoutMs: number;
  poolSize: number;
  isolation: 'read committed' | 'serializable';
  backgroundJobs: boolean;
  backgroundWhileGenerating: boolean | undefined;
  summaries: 'model' | 'extractive' | undefined;
  summaryEveryScenes: number;
  reflectionThreshold: number | undefined;
  jobLeaseMs: number;
}>;

/** Parses the environment once; reports every bad key together rather than the first. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable (DATABASE_URL= …) means unset, as shells and .env files intend it.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new AppError('config', `Invalid environment: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  return Object.freeze({
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(e.LIVINGWORLD_DATA_DIR),
    llmProvider: e.LLM_PROVIDER,
    ollamaHost: e.OLLAMA_HOST.replace(/\/+$/, ''),
    ollamaModel: e.OLLAMA_MODEL || undefined,
    openaiBaseUrl: e.OPENAI_BASE_URL?.replace(/\/+$/, ''),
    openaiApiKey: e.OPENAI_API_KEY || undefined,
    openaiModel: e.OPENAI_MODEL || undefined,
    embeddingsProvider: e.EMBEDDINGS_PROVIDER,
    embeddingsModel: e.EMBEDDINGS_MODEL || undefined,
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    offlineSeed: e.LIVINGWORLD_OFFLINE_SEED,
    offlineLatencyMs: e.LIVINGWORLD_OFFLINE_LATENCY_MS,
    llmTimeoutMs: e.LIVINGWORLD_LLM_TIMEOUT_MS,
    contextTokens: e.LIVINGWORLD_CONTEXT_TOKENS,
    think: e.LIVINGWORLD_THINK,
    llmMaxRetryWaitMs: e.LIVINGWORLD_LLM_MAX_RETRY_WAIT_MS,
    turnLeaseMs: e.LIVINGWORLD_TURN_LEASE_MS,
    statementTimeoutMs: e.LIVINGWORLD_STATEMENT_TIMEOUT_MS,
    lockTimeoutMs: e.LIVINGWORLD_LOCK_TIMEOUT_MS,
    poolSize: e.LIVINGWORLD_POOL_SIZE,
    isolation: e.LIVINGWORLD_ISOLATION,
    backgroundJobs: e.LIVINGWORLD_BACKGROUND_JOBS === 'on',
    backgroundWhileGenerating: e.LIVINGWORLD_BACKGROUND_WHILE_GENERATING === undefined ? undefined : e.LIVINGWORLD_BACKGROUND_WHILE_GENERATING === 'true',
    summaries: e.LIVINGWORLD_SUMMARIES,
    summaryEveryScenes: e.LIVINGWORLD_SUMMARY_EVERY,
    reflectionThreshold: e.LIVINGWORLD_REFLECTION_THRESHOLD,
    jobLeaseMs: e.LIVINGWORLD_JOB_LEASE_MS,
  });
}
