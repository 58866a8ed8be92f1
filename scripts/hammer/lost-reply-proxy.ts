import net from 'node:net';

/**
 * A TCP proxy between the server and PostgreSQL on 127.0.0.1 that can lose a COMMIT's reply:
 * when armed, the next COMMIT of a transaction whose statements match a pattern is passed to
 * the database, and once the database answers it (so it has committed) both sides of that
 * connection are cut and the answer is dropped. The server then knows only that the outcome
 * is unknown — exactly the case a retry with an idempotency key must survive.
 */
export interface LostReplyProxy {
  port: number;
  /** URL of the proxied database (the target's URL with the proxy's port). */
  url: string;
  /** Loses the reply of the next COMMIT whose transaction sent SQL matching `pattern`; resolves when it did. */
  loseNextCommit(pattern: RegExp): Promise<void>;
  /** Cuts every open connection (a LISTEN connection killed, say). */
  cutAll(): number;
  /** Refuses new connections for `ms` (an outage), so a reconnection has to wait. */
  refuseConnectionsFor(ms: number): void;
  /** How many COMMIT replies it has lost so far. */
  readonly lostCommits: number;
  close(): Promise<void>;
}

interface Armed {
  pattern: RegExp;
  done: () => void;
}

const startupCodes = { ssl: 80877103, gss: 80877104, cancel: 80877102 };

export async function startLostReplyProxy(targetUrl: string): Promise<LostReplyProxy> {
  const target = new URL(targetUrl);
  const targetPort = Number(target.port || 5432);
  const sockets = new Set<net.Socket>();
  let armed: Armed[] = [];
  let lostCommits = 0;
  let refusingUntil = 0;

  const server = net.createServer((client) => {
    if (Date.now() < refusingUntil) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, target.hostname);
    // Without these, Nagle's algorithm against the peer's delayed ACK holds each small
    // message ~40 ms: the proxied process would see every round trip 40 ms slower.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    const cut = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', cut).on('close', cut);
    upstream.on('error', cut).on('close', cut);

    let started = false;
    let pending: Buffer = Buffer.alloc(0);
    // A large message (a 10 MB import) arrives in many chunks: they wait here until it is whole,
    // so that it is copied once rather than once per chunk.
    let waiting: Buffer[] = [];
    let waitingBytes = 0;
    let needed = 0;
    // SQL sent since the last BEGIN, to match the armed pattern against.
    let transactionSql = '';
    let losing: Armed | undefined;

    client.on('data', (chunk: Buffer) => {
      if (waitingBytes + chunk.length < needed) {
        waiting.push(chunk);
        waitingBytes += chunk.length;
        return;
      }
      pending = waiting.length === 0 ? chunk : Buffer.concat([...waiting, chunk]);
      waiting = [];
      waitingBytes = 0;
      needed = 0;
      // Complete messages go upstream in one write, as the client sent them.
      const forward: Buffer[] = [];
      for (;;) {
        if (!started) {
          if (pending.length < 8) break;
          const length = pending.readInt32BE(0);
          if (pending.length < length) break;
          const code = pending.readInt32BE(4);
          if (code !== startupCodes.ssl && code !== startupCodes.gss) started = true;
          forward.push(pending.subarray(0, length));
          pending = pending.subarray(length);
          continue;
        }
        if (pending.length < 5) break;
        const length = pending.readInt32BE(1);
        if (pending.length < 1 + length) {
          needed = 1 + length;
          break;
        }
        const message = pending.subarray(0, 1 + length);
        pending = pending.subarray(1 + length);
        const type = String.fromCharCode(message[0]!);
        if (type === 'Q' || type === 'P') {
          // Q: query text; P: statement name then query text, both NUL-terminated. Only the
          // text is read (a 10 MB import's parameters travel in Bind, not here).
          const body = message.subarray(5);
          const nameEnd = type === 'P' ? body.indexOf(0) + 1 : 0;
          const textEnd = body.indexOf(0, nameEnd);
          const sql = body.toString('utf8', nameEnd, textEnd < 0 ? body.length : textEnd);
          if (/^\s*BEGIN/i.test(sql)) transactionSql = '';
          transactionSql += `${sql}\n`;
          if (type === 'Q' && /^\s*COMMIT/i.test(sql)) {
            const match = armed.find((a) => a.pattern.test(transactionSql));
            if (match) {
              armed = armed.filter((a) => a !== match);
              losing = match;
            }
            transactionSql = '';
          }
        }
        forward.push(message);
      }
      if (forward.length > 0) upstream.write(forward.length === 1 ? forward[0]! : Buffer.concat(forward));
      if (pending.length > 0) {
        waiting = [pending];
        waitingBytes = pending.length;
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      if (losing) {
        // The database has answered the COMMIT: it is durable, and now nobody hears of it.
        const done = losing.done;
        losing = undefined;
        lostCommits++;
        cut();
        done();
        return;
      }
      client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const url = new URL(targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    port,
    url: url.toString(),
    loseNextCommit(pattern) {
      return new Promise<void>((resolve) => armed.push({ pattern, done: resolve }));
    },
    cutAll() {
      const count = sockets.size;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      return count;
    },
    refuseConnectionsFor(ms) {
      refusingUntil = Date.now() + ms;
    },
    get lostCommits() {
      return lostCommits;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
