import { refuseCommits } from '../db/index.js';
import { shuttingDownError } from './in-flight-requests.js';
import type { RunningServer } from './start-server.js';

// Past the grace period, requests get this long to end once their writes are refused
// (aborted turns record their failure in it).
const abortWaitMs = 5_000;
const closeWaitMs = 2_000;

/**
 * Graceful stop: refuse new requests (503 shutting_down with Retry-After; readyz 503), end
 * event streams, let running requests finish within the grace period; then refuse every
 * transaction not yet committed (those requests answer 503 shutting_down) and abort running
 * turns, wait for the requests to end, and only then close the connections and the pool,
 * so that a write that committed is always answered.
 */
export async function shutdownServer(server: RunningServer): Promise<void> {
  const { app, ctx, runtime } = server;
  if (ctx.state.shuttingDown) return;
  ctx.state.shuttingDown = true;
  ctx.requests.refuseNew();
  const log = runtime.log.child({ component: 'shutdown' });
  log.info({ inFlightRequests: ctx.requests.size, inFlightTurns: ctx.turns.size, eventStreams: ctx.eventStreams.size }, 'shutting down');
  const closing = app.close();
  ctx.eventStreams.closeAll();
  const finishedInGrace = await ctx.requests.settle(ctx.config.shutdownGraceMs);
  if (!finishedInGrace) {
    log.warn({ inFlightRequests: ctx.requests.size }, 'requests still running at the shutdown deadline: their writes are refused');
    refuseCommits(runtime.db, shuttingDownError);
  }
  // Turns stop now whoever waits for them (their failure is recorded outside any transaction).
  const { aborted } = await ctx.turns.drain(0, abortWaitMs);
  if (aborted > 0) log.warn({ aborted }, 'aborted turns still running at the shutdown deadline');
  if (!(await ctx.requests.settle(abortWaitMs))) {
    log.warn({ inFlightRequests: ctx.requests.size }, 'requests still running after their writes were refused: answered 503');
    ctx.requests.answerTheRest();
    await ctx.requests.settle(closeWaitMs);
  }
  // Answered requests' sockets now sit idle in keep-alive.
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
