import type { FastifyInstance, FastifyReply } from 'fastify';
import { AppError } from '../errors.js';

/** Seconds a client is told to wait before sending a refused request again (to this or another process). */
export const shutdownRetryAfterSeconds = 2;

export function shuttingDownError(): AppError {
  return new AppError('shutting_down', 'The server is shutting down; nothing was written. Send the same request again (with the same idempotency key) in a moment.');
}

/**
 * Every API request this process is answering, so that shutdown can refuse new ones, wait
 * for the running ones, and close the database pool only after the last one has ended.
 * A request ends when its response is finished or its connection closes.
 */
export class InFlightRequests {
  private readonly running = new Map<Promise<void>, FastifyReply>();
  private refusing = false;

  get size(): number {
    return this.running.size;
  }

  /** Hooks every /api request; once `refuseNew()` is called, new ones get 503 shutting_down. */
  install(app: FastifyInstance): void {
    app.addHook('onRequest', async (request, reply) => {
      if (!request.url.startsWith('/api/')) return;
      if (this.refusing) throw shuttingDownError();
      const ended = new Promise<void>((resolve) => {
        reply.raw.once('finish', resolve);
        reply.raw.once('close', resolve);
      });
      this.running.set(ended, reply);
      void ended.then(() => this.running.delete(ended));
    });
    // A request answered by answerTheRest() still runs to its end and then fails (its commit
    // was refused): that failure has been answered already, and is not an error of the server.
    const isAnsweredAtShutdown = (reply: FastifyReply) => this.refusing && reply.sent;
    app.addHook('onRoute', (route) => {
      if (!route.url.startsWith('/api/')) return;
      const handler = route.handler;
      route.handler = async function (this: FastifyInstance, request, reply) {
        try {
          return await handler.call(this, request, reply);
        } catch (error) {
          if (!isAnsweredAtShutdown(reply)) throw error;
          request.log.info({ err: error }, 'a request answered 503 shutting_down ended with this');
          return reply;
        }
      };
    });
  }

  refuseNew(): void {
    this.refusing = true;
  }

  /** Waits until every request has ended, or `ms` has passed; true when none is left. */
  async settle(ms: number): Promise<boolean> {
    if (this.running.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.running.keys()]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      }),
    ]);
    clearTimeout(timer);
    return this.running.size === 0;
  }

  /** The last resort before connections are closed: whoever has no answer yet gets 503 shutting_down. */
  answerTheRest(): void {
    for (const reply of this.running.values()) {
      // An Error sent goes through the error handler: 503 with Retry-After.
      if (!reply.sent && !reply.raw.headersSent) void reply.send(shuttingDownError());
    }
  }
}
