import type { RunningServer } from './start-server.js';

// After the grace period, aborted turns get this long to record their failure.
const abortWaitMs = 5_000;
const closeWaitMs = 5_000;

/**
 * Graceful stop: refuse new work (readyz 503, new requests 503), end event streams, let
 * in-flight turns finish within the grace period, abort the rest so the engine marks them
 * failed rather than leaving them leased, then close the pool.
 */
export async function shutdownServer(server: RunningServer): Promise<void> {
  const { app, ctx, runtime } = server;
  if (ctx.state.shuttingDown) return;
  ctx.state.shuttingDown = true;
  const log = runtime.log.child({ component: 'shutdown' });
  log.info({ inFlightTurns: ctx.turns.size, eventStreams: ctx.eventStreams.size }, 'shutting down');
  const closing = app.close();
  ctx.eventStreams.closeAll();
  const { finished, aborted } = await ctx.turns.drain(ctx.config.shutdownGraceMs, abortWaitMs);
  if (aborted > 0) log.warn({ finished, aborted }, 'aborted turns still running at the shutdown deadline');
  // Streamed turns end their responses themselves; their sockets then sit idle in keep-alive.
  await new Promise((resolve) => setImmediate(resolve));
  app.server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([
    closing.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), closeWaitMs);
    }),
  ]);
  clearTimeout(timer);
  if (!closed) app.server.closeAllConnections();
  await ctx.relay.close();
  await runtime.close();
  log.info('stopped');
}

/** SIGTERM and SIGINT stop the server gracefully and exit 0; a second signal exits at once. */
export function stopOnSignals(server: RunningServer): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    server.runtime.log.info({ signal }, 'signal received');
    shutdownServer(server).then(
      () => process.exit(0),
      (error: unknown) => {
        server.runtime.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
