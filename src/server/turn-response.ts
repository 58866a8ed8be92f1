import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody, toHttpError } from './error-response.js';
import { openSse, wantsEventStream } from './sse.js';
import { createTextPacer } from './paced-text.js';
import { parseInput } from './parse-input.js';
import { paceQuery } from './routes/route-inputs.js';
import type { ServerContext } from './server-context.js';

export interface TurnHooks {
  /** The client went away. */
  signal: AbortSignal;
  /** The server stops (shutdown past its grace). */
  stopSignal: AbortSignal;
  onText?: (text: string) => void;
  onThinking?: (active: boolean) => void;
}

// However slow the reader's pace, the scene event follows the end of the writing by at most this.
const maxPacedDrainMs = 60_000;

/**
 * Answers a request that writes a scene: 201 with JSON, or, when the client accepts
 * `text/event-stream`, `event: text` chunks as the prose is written (`event: thinking` with
 * `{active}` while a reasoning model thinks first) and then `event: scene`
 * (the same body as the JSON answer) or `event: error`; `?pace=N` releases the prose at no more
 * than N words a second (the whole scene is written before it reaches the reader). A client that
 * goes away stops waiting; the turn stops too when nobody else, on any process, waits for it.
 */
export async function respondWithTurn(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  run: (hooks: TurnHooks) => Promise<object>,
): Promise<FastifyReply> {
  const { pace } = parseInput(paceQuery, request.query, 'query');
  const clientGone = new AbortController();
  const onClose = () => {
    if (!reply.raw.writableFinished) clientGone.abort();
  };
  reply.raw.on('close', onClose);
  try {
    if (!wantsEventStream(request)) {
      const body = await ctx.turns.run(clientGone.signal, (signals) => run(signals));
      return await reply.status(201).send(body);
    }
    const stream = openSse(request, reply, { heartbeatMs: ctx.config.sseHeartbeatMs });
    const sendText = (text: string) => stream.send('text', { text });
    const pacer = pace ? createTextPacer(sendText, { wordsPerSecond: pace, maxDrainMs: maxPacedDrainMs }) : undefined;
    stream.onClose(() => pacer?.stop());
    try {
      const body = await ctx.turns.run(clientGone.signal, (signals) =>
        run({ ...signals, onText: pacer ? (text) => pacer.push(text) : sendText, onThinking: (active) => stream.send('thinking', { active }) }),
      );
      await pacer?.drain();
      stream.send('scene', body);
    } catch (error) {
      pacer?.stop();
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
