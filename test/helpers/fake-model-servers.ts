import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Small scriptable stand-ins for Ollama and OpenAI-compatible servers, on 127.0.0.1 with a
 * random port. They speak just enough of each wire format for the providers and embedders,
 * record every request body, and notice when a client hangs up before the answer is done.
 */

export type ReplyFault =
  /** Stop writing halfway and end the body cleanly (partial JSON, or a stream without its end marker). */
  | 'truncate'
  /** Answer with something that is not JSON. */
  | 'malformed'
  /** Send the first chunk, then destroy the socket. */
  | 'close-mid-stream'
  /** Send the first chunk, then nothing more until the client gives up. */
  | 'stall-mid-stream';

export interface ReplyScript {
  /** What the model "writes". */
  text: string;
  /** Statuses for the first calls, one per call; later calls get the normal answer. */
  failWith: number[];
  /** Every call gets this status instead of an answer. */
  alwaysStatus?: number;
  /** Wait this long before sending the status line. */
  delayMs: number;
  fault?: ReplyFault;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: any;
}

const defaultScript = (): ReplyScript => ({ text: 'The lantern flickers as Mara steps inside.', failWith: [], delayMs: 0 });

/** Splits text the way a model streams it: a word and its trailing space at a time. */
export function streamPieces(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

/** A deterministic, deliberately unnormalised vector for a text, so tests can predict order and normalisation. */
export function fakeVector(text: string, dimension: number): number[] {
  let hash = 2166136261;
  for (const char of text) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0;
  return Array.from({ length: dimension }, (_, i) => ((hash >>> (i % 24)) & 0xff) + i + 1);
}

type Route = (request: http.IncomingMessage, body: any, response: http.ServerResponse) => Promise<void> | void;

abstract class FakeServer {
  readonly requests: RecordedRequest[] = [];
  /** Paths of requests whose connection closed before the answer was complete. */
  readonly closedEarly: string[] = [];
  script: ReplyScript = defaultScript();
  url = '';
  #server = http.createServer((request, response) => void this.#dispatch(request, response));
  #timers = new Set<NodeJS.Timeout>();
  #callsByPath = new Map<string, number>();

  protected abstract routes(): Record<string, Route>;

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Replaces the script for the next calls and restarts the failWith count. */
  reply(script: Partial<ReplyScript>): void {
    this.script = { ...defaultScript(), ...script };
    this.#callsByPath.clear();
  }

  requestsTo(path: string): RecordedRequest[] {
    return this.requests.filter((request) => request.path === path);
  }

  /** Polls (bounded) until `predicate` holds, for effects that reach the server a little later. */
  async waitFor(predicate: () => boolean, timeoutMs = 2_000): Promise<void> {
    const started = Date.now();
    while (!predicate()) {
      if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
      await this.sleep(10);
    }
  }

  protected sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      this.#timers.add(timer);
    });
  }

  /** Applies delay and scripted statuses; returns false when the call has been answered already. */
  protected async prelude(path: string, response: http.ServerResponse, errorBody: (status: number) => unknown): Promise<boolean> {
    const call = this.#callsByPath.get(path) ?? 0;
    this.#callsByPath.set(path, call + 1);
    if (this.script.delayMs > 0) await this.sleep(this.script.delayMs);
    if (response.destroyed) return false;
    const status = this.script.alwaysStatus ?? this.script.failWith[call];
    if (status === undefined) return true;
    sendJson(response, status, errorBody(status));
    return false;
  }

  /** Writes `pieces` one by one, honouring the stream faults; `end` is written last unless a fault cuts it. */
  protected async writeStream(response: http.ServerResponse, pieces: string[], end: string): Promise<void> {
    const fault = this.script.fault;
    for (const [i, piece] of pieces.entries()) {
      if (response.destroyed) return;
      response.write(piece);
      if (i === 0 && fault === 'close-mid-stream') {
        await this.sleep(20);
        response.socket?.destroy();
        return;
      }
      if (i === 0 && fault === 'stall-mid-stream') return; // held open until the client hangs up or close()
      if (fault === 'truncate' && i >= Math.floor(pieces.length / 2)) {
        response.end();
        return;
      }
      await this.sleep(2);
    }
    response.end(end);
  }

  async #dispatch(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://fake').pathname;
    const raw = await readBody(request);
    let body: any = raw;
    try {
      body = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      // keep the raw text; the route decides
    }
    this.requests.push({ method: request.method ?? 'GET', path, headers: request.headers, body });
    response.on('close', () => {
      if (!response.writableFinished) this.closedEarly.push(path);
    });
    const route = this.routes()[`${request.method} ${path}`];
    if (!route) return sendJson(response, 404, { error: `no route ${request.method} ${path}` });
    try {
      await route(request, body, response);
    } catch (error) {
      if (!response.headersSent) sendJson(response, 500, { error: String(error) });
      else response.destroy();
    }
  }
}

export class FakeOllama extends FakeServer {
  /** What /api/tags lists; chat and embed answer 404 for anything else. */
  models: string[] = ['llama3.2:latest', 'nomic-embed-text:latest'];
  embeddingDimension = 8;
  /** Replaces the /api/embed answer, e.g. to send vectors of mixed dimensions. */
  embedReply?: (input: string[]) => unknown;

  protected routes(): Record<string, Route> {
    return {
      'GET /api/version': (_req, _body, res) => sendJson(res, 200, { version: '0.6.4' }),
      'GET /api/tags': async (_req, _body, res) => {
        if (!(await this.prelude('/api/tags', res, ollamaError))) return;
        sendJson(res, 200, { models: this.models.map((name) => ({ name, model: name, size: 1 })) });
      },
      'POST /api/chat': (_req, body, res) => this.#chat(body, res),
      'POST /api/embed': (_req, body, res) => this.#embed(body, res),
      'POST /api/pull': (_req, body, res) => this.#pull(body, res),
    };
  }

  #knows(model: string): boolean {
    return this.models.some((name) => name === model || name === `${model}:latest`);
  }

  async #chat(body: any, res: http.ServerResponse): Promise<void> {
    if (!(await this.prelude('/api/chat', res, ollamaError))) return;
    if (!this.#knows(body.model)) return sendJson(res, 404, { error: `model "${body.model}" not found, try pulling it first` });
    const { text, fault } = this.script;
    const final = { model: body.model, done: true, done_reason: 'stop', prompt_eval_count: 12, eval_count: 34 };
    if (body.stream === false) {
      if (fault === 'malformed') return sendRaw(res, 200, 'application/json', 'this is not json');
      const whole = JSON.stringify({ ...final, message: { role: 'assistant', content: text } });
      return sendRaw(res, 200, 'application/json', fault === 'truncate' ? whole.slice(0, whole.length >> 1) : whole);
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    const lines = streamPieces(text).map((piece) => `${JSON.stringify({ model: body.model, message: { role: 'assistant', content: piece }, done: false })}\n`);
    if (fault === 'malformed') lines.splice(1, 0, '{"message": oops\n');
    await this.writeStream(res, lines, `${JSON.stringify({ ...final, message: { role: 'assistant', content: '' } })}\n`);
  }

  async #embed(body: any, res: http.ServerResponse): Promise<void> {
    if (!(await this.prelude('/api/embed', res, ollamaError))) return;
    if (!this.#knows(body.model)) return sendJson(res, 404, { error: `model "${body.model}" not found, try pulling it first` });
    const input: string[] = Array.isArray(body.input) ? body.input : [body.input];
    if (this.embedReply) return sendRaw(res, 200, 'application/json', rawJson(this.embedReply(input)));
    sendJson(res, 200, { model: body.model, embeddings: input.map((text) => fakeVector(text, this.embeddingDimension)) });
  }

  async #pull(body: any, res: http.ServerResponse): Promise<void> {
    if (!(await this.prelude('/api/pull', res, ollamaError))) return;
    const model = String(body.model ?? body.name);
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    if (this.script.fault === 'malformed') return void res.end(`${JSON.stringify({ error: `pull model manifest: file does not exist` })}\n`);
    const lines = [
      { status: 'pulling manifest' },
      { status: 'pulling 6a0746a1ec1a', digest: 'sha256:6a07', total: 1000, completed: 0 },
      { status: 'pulling 6a0746a1ec1a', digest: 'sha256:6a07', total: 1000, completed: 500 },
      { status: 'pulling 6a0746a1ec1a', digest: 'sha256:6a07', total: 1000, completed: 1000 },
      { status: 'verifying sha256 digest' },
      { status: 'writing manifest' },
    ].map((line) => `${JSON.stringify(line)}\n`);
    await this.writeStream(res, lines, `${JSON.stringify({ status: 'success' })}\n`);
    if (res.writableFinished && !this.script.fault) this.models.push(`${model}:latest`);
  }
}

export class FakeOpenAI extends FakeServer {
  models: string[] = ['qwen2.5-7b-instruct', 'text-embedding-3-small'];
  embeddingDimension = 6;
  /** Send /v1/embeddings items in reverse order; clients must sort by `index`. */
  reverseEmbeddingOrder = false;
  embedReply?: (input: string[]) => unknown;

  protected routes(): Record<string, Route> {
    return {
      'GET /v1/models': (_req, _body, res) =>
        sendJson(res, 200, { object: 'list', data: this.models.map((id) => ({ id, object: 'model', owned_by: 'fake' })) }),
      'POST /v1/chat/completions': (_req, body, res) => this.#chat(body, res),
      'POST /v1/embeddings': (_req, body, res) => this.#embed(body, res),
    };
  }

  async #chat(body: any, res: http.ServerResponse): Promise<void> {
    if (!(await this.prelude('/v1/chat/completions', res, openAIError))) return;
    if (!this.models.includes(body.model)) {
      return sendJson(res, 404, { error: { message: `The model '${body.model}' does not exist`, type: 'invalid_request_error', code: 'model_not_found' } });
    }
    const { text, fault } = this.script;
    const usage = { prompt_tokens: 21, completion_tokens: 43, total_tokens: 64 };
    const base = { id: 'chatcmpl-fake', created: 1_700_000_000, model: body.model };
    if (!body.stream) {
      if (fault === 'malformed') return sendRaw(res, 200, 'application/json', '<html>bad gateway</html>');
      const whole = JSON.stringify({
        ...base,
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
        usage,
      });
      return sendRaw(res, 200, 'application/json', fault === 'truncate' ? whole.slice(0, whole.length >> 1) : whole);
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const event = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
    const chunk = (delta: object, finishReason: string | null) => event({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finishReason }] });
    // The role rides on the first piece so that a fault "after the first chunk" comes after some text.
    const events = streamPieces(text).map((piece, i) => chunk(i === 0 ? { role: 'assistant', content: piece } : { content: piece }, null));
    if (fault === 'malformed') events.splice(2, 0, 'data: {"choices": [oops\n\n');
    const ending = [chunk({}, 'stop'), body.stream_options?.include_usage ? event({ ...base, object: 'chat.completion.chunk', choices: [], usage }) : '', 'data: [DONE]\n\n'];
    await this.writeStream(res, events, ending.join(''));
  }

  async #embed(body: any, res: http.ServerResponse): Promise<void> {
    if (!(await this.prelude('/v1/embeddings', res, openAIError))) return;
    if (!this.models.includes(body.model)) {
      return sendJson(res, 404, { error: { message: `The model '${body.model}' does not exist`, type: 'invalid_request_error', code: 'model_not_found' } });
    }
    const input: string[] = Array.isArray(body.input) ? body.input : [body.input];
    if (this.embedReply) return sendRaw(res, 200, 'application/json', rawJson(this.embedReply(input)));
    const data = input.map((text, index) => ({ object: 'embedding', index, embedding: fakeVector(text, this.embeddingDimension) }));
    if (this.reverseEmbeddingOrder) data.reverse();
    sendJson(res, 200, { object: 'list', model: body.model, data, usage: { prompt_tokens: input.length, total_tokens: input.length } });
  }
}

export async function startFakeOllama(): Promise<FakeOllama> {
  return new FakeOllama().start();
}

export async function startFakeOpenAI(): Promise<FakeOpenAI> {
  return new FakeOpenAI().start();
}

/** A URL on which nothing listens: a port that was just bound and released. */
export async function unusedLocalUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

const ollamaError = (status: number) => ({ error: `fake failure with status ${status}` });
const openAIError = (status: number) => ({ error: { message: `fake failure with status ${status}`, type: 'server_error', code: null } });

/** A string is sent as it is (to carry e.g. 1e400); anything else as JSON. */
function rawJson(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function sendJson(response: http.ServerResponse, status: number, body: unknown): void {
  sendRaw(response, status, 'application/json', JSON.stringify(body));
}

function sendRaw(response: http.ServerResponse, status: number, contentType: string, text: string): void {
  response.writeHead(status, { 'content-type': contentType });
  response.end(text);
}

async function readBody(request: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
