import type { FastifyReply, FastifyRequest } from 'fastify';

/** One server-sent events response. */
export interface SseStream {
  readonly closed: boolean;
  /** `id` (the story version) lets a reconnecting client say where it was (Last-Event-ID). */
  send(event: string, data: unknown, id?: number | string): void;
  /** Ends the response (no-op when the client has gone). */
  close(): void;
  /** Runs once when the response ends, whoever ended it. */
  onClose(listener: () => void): void;
}

/** The open event streams of this process, so that shutdown can end them. */
export class SseStreams {
  private readonly streams = new Set<SseStream>();

  get size(): number {
    return this.streams.size;
  }

  add(stream: SseStream): void {
    this.streams.add(stream);
    stream.onClose(() => this.streams.delete(stream));
  }

  closeAll(): void {
    for (const stream of [...this.streams]) stream.close();
  }
}

/**
 * Takes the response over from fastify and starts an event stream: the headers fastify and
 * its plugins set (security headers, request id) are kept, and a comment line every
 * `heartbeatMs` keeps proxies from closing an idle stream.
 */
export function openSse(request: FastifyRequest, reply: FastifyReply, options: { heartbeatMs: number }): SseStream {
  reply.hijack();
  const res = reply.raw;
  const headers = { ...reply.getHeaders() } as Record<string, string | number | string[]>;
  delete headers['content-length'];
  res.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write('retry: 2000\n\n');
  const listeners: (() => void)[] = [];
  let closed = false;
  const finish = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    for (const listener of listeners.splice(0)) listener();
  };
  const heartbeat = setInterval(() => {
    if (!res.writableEnded) res.write(': heartbeat\n\n');
  }, options.heartbeatMs);
  heartbeat.unref();
  // 'close' on the response fires both when we end it and when the client goes away.
  res.on('close', finish);
  request.log.debug('event stream opened');
  return {
    get closed() {
      return closed || res.writableEnded || res.destroyed;
    },
    send(event, data, id) {
      if (closed || res.writableEnded || res.destroyed) return;
      res.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    close() {
      if (!res.writableEnded) res.end();
      finish();
    },
    onClose(listener) {
      if (closed) listener();
      else listeners.push(listener);
    },
  };
}

export function wantsEventStream(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return typeof accept === 'string' && accept.includes('text/event-stream');
}
