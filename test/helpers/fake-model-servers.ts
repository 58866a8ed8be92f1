import http from 'node:http';
import llama3Tokenizer from 'llama3-tokenizer-js';
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
  /** Per-call text instead of `text` (call counts from 1 per script). */
  textFor?: (body: any, call: number) => string;
  /** Sent with the failWith statuses, e.g. '1' or an HTTP date. */
  retryAfter?: string;
  /** Reasoning sent apart from the content: Ollama's message.thinking, OpenAI-style reasoning_content. */
  thinking?: string;
  /** Stream in pieces of this many characters rather than word by word (splits tags across chunks). */
  chunkChars?: number;
  /** The first this many answers stop at half their text with done_reason / finish_reason "length". */
  cutOffCalls?: number;
  /** Refuse a JSON schema (Ollama format object, OpenAI response_format json_schema) with HTTP 400. */
  rejectSchema?: boolean;
  /** The first N chat calls are refused as too long for the context (llama.cpp's 400 exceed_context_size_error). */
  overflowCalls?: number;
}

/** What a chat stand-in worked out about one request, as the real server would see it. */
export interface ChatRecord {
  body: any;
  promptTokens: number;
  /** The context the request ran with: the num_ctx sent, or the server's default. */
  contextTokens: number;
  /** The answer allowance sent (num_predict / max_tokens), if any. */
  maxTokens: number | undefined;
  /** The prompt did not fit and the server cut its beginning off. */
  truncated: boolean;
}

/**
 * Counts a chat prompt as a Llama 3 server does: each message's tokens plus its header and
 * end markers (about 5), the begin-of-text token and the assistant header that primes the answer.
 */
export function llamaPromptTokens(messages: { content: string }[]): number {
  return messages.reduce((total, message) => total + llama3Tokenizer.encode(message.content, { bos: false, eos: false }).length + 5, 1 + 4);
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: any;
}

const defaultScript = (): ReplyScript => ({ text: 'The lantern flickers as Mara steps inside.', failWith: [], delayMs: 0 });

/** Splits text the way a model streams it: a word and its trailing space at a time. */
export function streamPieces(text: string, chunkChars?: number): string[] {
  if (chunkChars) return Array.from({ length: Math.ceil(text.length / chunkChars) }, (_, i) => text.slice(i * chunkChars, (i + 1) * chunkChars));
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
    // Go servers (Ollama, many proxies) keep idle connections far longer than Node's 5 s; with
    // Node's default a slow turn races the server closing the socket it is about to reuse.
    this.#server.keepAliveTimeout = 120_000;
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
    this.answers = 0;
    this.overflowsSent = 0;
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
    sendJson(response, status, errorBody(status), this.script.retryAfter ? { 'retry-after': this.script.retryAfter } : {});
    return false;
  }

  /** Answers served so far under the current script (failures excluded), counting from 1. */
  protected answers = 0;
  /** Calls refused under overflowCalls so far. */
  protected overflowsSent = 0;

  /** The text of this answer and whether it is cut off by the length limit. */
  protected nextAnswer(body: any): { text: string; cutOff: boolean } {
    this.answers += 1;
    const whole = this.script.textFor ? this.script.textFor(body, this.answers) : this.script.text;
    const cutOff = this.answers <= (this.script.cutOffCalls ?? 0);
    return { text: cutOff ? whole.slice(0, Math.floor(whole.length / 2)) : whole, cutOff };
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
  /** Published by POST /api/show as model_info["llama.context_length"]; undefined: /api/show answers 404. */
  contextLength: number | undefined;
  /** What Ollama runs a request at when it sends no num_ctx. */
  defaultNumCtx = 2048;
  /** One record per answered /api/chat request. */
  readonly chats: ChatRecord[] = [];

  protected routes(): Record<string, Route> {
    return {
      'GET /api/version': (_req, _body, res) => sendJson(res, 200, { version: '0.6.4' }),
      'POST /api/show': (_req, body, res) => {
        if (this.contextLength === undefined || !this.#knows(body?.model)) return sendJson(res, 404, { error: `model '${body?.model}' not found` });
        sendJson(res, 200, {
          parameters: 'stop "<|eot_id|>"',
          details: { family: 'llama', parameter_size: '3.2B' },
          model_info: { 'general.architecture': 'llama', 'llama.context_length': this.contextLength, 'llama.embedding_length': 3072 },
          capabilities: ['completion', ...(this.script.thinking ? ['thinking'] : [])],
        });
      },
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
    if (this.script.rejectSchema && typeof body.format === 'object' && body.format !== null) {
      return sendJson(res, 400, { error: 'invalid format: structured outputs are not supported by this server' });
    }
    // Like Ollama: the request runs at the num_ctx it sent, else the default, and a longer prompt loses its beginning.
    const promptTokens = llamaPromptTokens(body.messages ?? []);
    const contextTokens = body.options?.num_ctx ?? this.defaultNumCtx;
    this.chats.push({ body, promptTokens, contextTokens, maxTokens: body.options?.num_predict, truncated: promptTokens > contextTokens });
    const { fault, thinking, chunkChars } = this.script;
    const { text, cutOff } = this.nextAnswer(body);
    const final = { model: body.model, done: true, done_reason: cutOff ? 'length' : 'stop', prompt_eval_count: Math.min(promptTokens, contextTokens), eval_count: 34 };
    if (body.stream === false) {
      if (fault === 'malformed') return sendRaw(res, 200, 'application/json', 'this is not json');
      const whole = JSON.stringify({ ...final, message: { role: 'assistant', content: text, ...(thinking ? { thinking } : {}) } });
      return sendRaw(res, 200, 'application/json', fault === 'truncate' ? whole.slice(0, whole.length >> 1) : whole);
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    const line = (message: object) => `${JSON.stringify({ model: body.model, message: { role: 'assistant', ...message }, done: false })}\n`;
    const lines = [
      ...(thinking ? streamPieces(thinking, chunkChars).map((piece) => line({ content: '', thinking: piece })) : []),
      ...streamPieces(text, chunkChars).map((piece) => line({ content: piece })),
    ];
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
    // Like Ollama, the model is installed before "success" is sent: a client may list at once.
    if (!this.script.fault) this.models.push(`${model}:latest`);
    await this.writeStream(res, lines, `${JSON.stringify({ status: 'success' })}\n`);
  }
}

export class FakeOpenAI extends FakeServer {
  models: string[] = ['qwen2.5-7b-instruct', 'text-embedding-3-small'];
  embeddingDimension = 6;
  /** Send /v1/embeddings items in reverse order; clients must sort by `index`. */
  reverseEmbeddingOrder = false;
  embedReply?: (input: string[]) => unknown;
  /** Published at GET /props like llama.cpp's server; undefined: /props answers 404. */
  nCtx: number | undefined;
  /** One record per answered chat request. */
  readonly chats: ChatRecord[] = [];

  protected routes(): Record<string, Route> {
    return {
      'GET /props': (_req, _body, res) => {
        if (this.nCtx === undefined) return sendJson(res, 404, { error: { message: 'File Not Found', type: 'not_found_error', code: 404 } });
        sendJson(res, 200, { default_generation_settings: { n_ctx: this.nCtx, n_predict: -1 }, total_slots: 1, chat_template: '' });
      },
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
    if (this.script.rejectSchema && body.response_format?.type === 'json_schema') {
      return sendJson(res, 400, { error: { message: "'response_format.type' json_schema is not supported", type: 'invalid_request_error', code: null } });
    }
    const promptTokens = llamaPromptTokens(body.messages ?? []);
    const contextTokens = this.nCtx ?? Number.POSITIVE_INFINITY;
    this.chats.push({ body, promptTokens, contextTokens, maxTokens: body.max_tokens, truncated: promptTokens > contextTokens });
    const tooLong = promptTokens + (body.max_tokens ?? 0) > contextTokens;
    const scriptedOverflow = !tooLong && this.overflowsSent < (this.script.overflowCalls ?? 0);
    if (scriptedOverflow) this.overflowsSent++;
    if (tooLong || scriptedOverflow) {
      // llama.cpp refuses a request whose prompt and allowance exceed its context.
      return sendJson(res, 400, { error: { code: 400, message: 'the request exceeds the available context size, try increasing it', type: 'exceed_context_size_error', n_prompt_tokens: promptTokens, n_ctx: contextTokens } });
    }
    const { fault, thinking, chunkChars } = this.script;
    const { text, cutOff } = this.nextAnswer(body);
    const finishReason = cutOff ? 'length' : 'stop';
    const usage = { prompt_tokens: promptTokens, completion_tokens: 43, total_tokens: promptTokens + 43 };
    const base = { id: 'chatcmpl-fake', created: 1_700_000_000, model: body.model };
    if (!body.stream) {
      if (fault === 'malformed') return sendRaw(res, 200, 'application/json', '<html>bad gateway</html>');
      const whole = JSON.stringify({
        ...base,
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: text, ...(thinking ? { reasoning_content: thinking } : {}) }, finish_reason: finishReason }],
        usage,
      });
      return sendRaw(res, 200, 'application/json', fault === 'truncate' ? whole.slice(0, whole.length >> 1) : whole);
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const event = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
    const chunk = (delta: object, finishReason: string | null) => event({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finishReason }] });
    // The role rides on the first piece so that a fault "after the first chunk" comes after some text.
    const events = [
      ...(thinking ? streamPieces(thinking, chunkChars).map((piece) => chunk({ reasoning_content: piece }, null)) : []),
      ...streamPieces(text, chunkChars).map((piece, i) => chunk(i === 0 ? { role: 'assistant', content: piece } : { content: piece }, null)),
    ];
    if (fault === 'malformed') events.splice(2, 0, 'data: {"choices": [oops\n\n');
    const ending = [chunk({}, finishReason), body.stream_options?.include_usage ? event({ ...base, object: 'chat.completion.chunk', choices: [], usage }) : '', 'data: [DONE]\n\n'];
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

function sendJson(response: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendRaw(response, status, 'application/json', JSON.stringify(body), headers);
}

function sendRaw(response: http.ServerResponse, status: number, contentType: string, text: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': contentType, ...headers });
  response.end(text);
}

async function readBody(request: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
