import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody, toHttpError } from './error-response.js';
import { openSse, wantsEventStream } from './sse.js';
import type { ServerContext } from './server-context.js';

export interface TurnHooks {
  signal: AbortSignal;
  onText?: (text: string) => void;
  onThinking?: (active: boolean) => void;
}

/**
 * Answers a request that writes a scene: 201 with JSON, or, when the client accepts
 * `text/event-stream`, `event: text` chunks as the prose is written (`event: thinking` with
 * `{active}` while a reasoning model thinks first) and then `event: scene`
 * (the same body as the JSON answer) or `event: error`. A client that goes away aborts the
 * turn through its signal, so that nothing is written for nobody.
 */
export async function respondWithTurn(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  run: (hooks: TurnHooks) => Promise<object>,
): Promise<FastifyReply> {
  const clientGone = new AbortController();
  const onClose = () => {
    if (!reply.raw.writableFinished) clientGone.abort();
  };
  reply.raw.on('close', onClose);
  try {
    if (!wantsEventStream(request)) {
      const body = await ctx.turns.run(clientGone.signal, (signal) => run({ signal }));
      return await reply.status(201).send(body);
    }
    const stream = openSse(request, reply, { heartbeatMs: ctx.config.sseHeartbeatMs });
    try {
      const body = await ctx.turns.run(clientGone.signal, (signal) =>
        run({ signal, onText: (text) => stream.send('text', { text }), onThinking: (active) => stream.send('thinking', { active }) }),
      );
      stream.send('scene', body);
    } catch (error) {
      const { appError, status } = toHttpError(error);
      if (status >= 500 && appError.code === 'internal') request.log.error({ err: error }, 'turn failed');
      stream.send('error', { ...errorBody(appError), status });
    } finally {
      stream.close();
    }
    return reply;
  } finally {
    reply.raw.off('close', onClose);
  }
}
