import { z } from 'zod';
import { AppError } from '../errors.js';

/**
 * Settings only `livingworld serve` reads, parsed from the same environment as src/config.ts:
 *
 * | variable | meaning | default |
 * |---|---|---|
 * | `LIVINGWORLD_AUTH` | `auto`: bearer tokens are required once at least one exists; `required`: always | `auto` |
 * | `LIVINGWORLD_TURN_RATE_LIMIT` | turns (and new stories, regenerations, talks) per user per window | `30` |
 * | `LIVINGWORLD_TURN_RATE_WINDOW_MS` | the rate limit window | `60000` |
 * | `LIVINGWORLD_BODY_LIMIT_BYTES` | largest JSON body; imports get `LIVINGWORLD_IMPORT_LIMIT_BYTES` | `1048576` |
 * | `LIVINGWORLD_IMPORT_LIMIT_BYTES` | largest import body | `20971520` |
 * | `LIVINGWORLD_SHUTDOWN_GRACE_MS` | on SIGTERM, how long running requests (turns, imports) may run before their writes are refused (503 shutting_down) | `10000` |
 * | `LIVINGWORLD_SSE_HEARTBEAT_MS` | comment lines that keep idle event streams open through proxies | `15000` |
 */
const serverEnvSchema = z.object({
  LIVINGWORLD_AUTH: z.enum(['auto', 'required']).default('auto'),
  LIVINGWORLD_TURN_RATE_LIMIT: z.coerce.number().int().min(1).default(30),
  LIVINGWORLD_TURN_RATE_WINDOW_MS: z.coerce.number().int().min(100).default(60_000),
  LIVINGWORLD_BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(1024 * 1024),
  LIVINGWORLD_IMPORT_LIMIT_BYTES: z.coerce.number().int().min(1024).default(20 * 1024 * 1024),
  LIVINGWORLD_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
  LIVINGWORLD_SSE_HEARTBEAT_MS: z.coerce.number().int().min(50).default(15_000),
});

export type ServerConfig = Readonly<{
  auth: 'auto' | 'required';
  turnRateLimit: number;
  turnRateWindowMs: number;
  bodyLimitBytes: number;
  importLimitBytes: number;
  shutdownGraceMs: number;
  sseHeartbeatMs: number;
}>;

export function loadServerConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const parsed = serverEnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new AppError('config', `Invalid environment: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  return Object.freeze({
    auth: e.LIVINGWORLD_AUTH,
    turnRateLimit: e.LIVINGWORLD_TURN_RATE_LIMIT,
    turnRateWindowMs: e.LIVINGWORLD_TURN_RATE_WINDOW_MS,
    bodyLimitBytes: e.LIVINGWORLD_BODY_LIMIT_BYTES,
    importLimitBytes: e.LIVINGWORLD_IMPORT_LIMIT_BYTES,
    shutdownGraceMs: e.LIVINGWORLD_SHUTDOWN_GRACE_MS,
    sseHeartbeatMs: e.LIVINGWORLD_SSE_HEARTBEAT_MS,
  });
}
