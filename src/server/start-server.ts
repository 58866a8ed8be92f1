import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import { openEngineRuntime, type EngineRuntime } from '../runtime.js';
import { collectProcessMetrics } from '../metrics.js';
import { anyActiveToken } from './access/access-repo.js';
import { createAuthGate } from './auth.js';
import { buildApp } from './app.js';
import { InFlightRequests } from './in-flight-requests.js';
import { InFlightTurns } from './in-flight-turns.js';
import { loadServerConfig, type ServerConfig } from './server-config.js';
import { SseStreams } from './sse.js';
import { startStoryEventsRelay } from './story-events-relay.js';
import { sweepIdempotencyKeys } from './sweep-idempotency-keys.js';
import type { ServerContext } from './server-context.js';

export interface RunningServer {
  app: FastifyInstance;
  ctx: ServerContext;
  runtime: EngineRuntime;
  url: string;
  port: number;
  host: string;
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** Anywhere but loopback, the server must not start open to everyone on the network. */
async function checkBindAllowed(runtime: EngineRuntime, config: ServerConfig, host: string): Promise<void> {
  if (isLoopbackHost(host) || config.auth === 'required' || (await anyActiveToken(runtime.db))) return;
  throw new AppError(
    'config',
    `Refusing to listen on ${host} without authentication: create a token with \`livingworld token create --user NAME\` (or set LIVINGWORLD_AUTH=required), or bind to 127.0.0.1.`,
  );
}

/** Opens the engine, checks the bind address, and listens. */
export async function startServer(options: { host?: string; port?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunningServer> {
  const env = options.env ?? process.env;
  const config = loadServerConfig(env);
  const runtime = await openEngineRuntime({ defaultLogLevel: 'info', applicationName: 'livingworld-serve', env, backgroundWorker: true });
  try {
    const host = options.host ?? runtime.config.host;
    const port = options.port ?? runtime.config.port;
    await checkBindAllowed(runtime, config, host);
    collectProcessMetrics();
    const relay = await startStoryEventsRelay(runtime.db, runtime.log);
    const ctx: ServerContext = {
      runtime,
      config,
      auth: createAuthGate(runtime.db, config.auth),
      relay,
      eventStreams: new SseStreams(),
      turns: new InFlightTurns(),
      requests: new InFlightRequests(),
      state: { shuttingDown: false },
    };
    const app = await buildApp(ctx);
    const stopSweeping = sweepIdempotencyKeys(runtime.db, runtime.log);
    app.addHook('onClose', async () => stopSweeping());
    await app.listen({ host, port });
    const address = app.server.address();
    const boundPort = typeof address === 'object' && address ? address.port : port;
    const urlHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
    return { app, ctx, runtime, url: `http://${urlHost}:${boundPort}`, port: boundPort, host };
  } catch (error) {
    await runtime.close().catch(() => {});
    throw error;
  }
}
