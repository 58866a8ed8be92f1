import http from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createRandom, type Random } from './random.js';

/**
 * A small OpenAI-compatible chat server for the hammer. It counts every call it receives
 * independently of the code under test, by serve incarnation (the path prefix each process is
 * given: `/<incarnation>/v1`), by purpose and by story title; it answers valid scene JSON that
 * carries its call id (stored by the engine in scenes.raw_output, so the checker can tie each
 * scene to exactly one call), and it injects latency, hangs past the client timeout and
 * garbage answers.
 */

/** summary, reflection: background jobs' calls, told apart by their prompts. */
export type CallPurpose = 'scene' | 'repair' | 'talk' | 'summary' | 'reflection' | 'other';
export type CallFault = 'none' | 'hang' | 'garbage';

export interface ModelCall {
  id: number;
  incarnation: string;
  purpose: CallPurpose;
  storyTitle: string | null;
  stream: boolean;
  fault: CallFault;
  startedAt: number;
  endedAt: number | undefined;
  /** answered: the whole answer was written; closed: the client hung up first. */
  outcome: 'pending' | 'answered' | 'closed';
  /** The call this one repeats after it hung (the provider's own retry), if any. */
  retryOf: number | undefined;
  bodyHash: string;
}

export interface ModelFaultRates {
  hangRate: number;
  garbageRate: number;
}

export interface FakeModelOptions {
  latencyMs: readonly [number, number];
  faults: ModelFaultRates;
  seed: number;
  /** How long a hung call is held before the socket is destroyed (bounded, in case a client never gives up). */
  hangMaxMs: number;
}

// Character names with spelling variants, so that concurrent extractions race on one name_key.
const castVariants = [
  ['Mara Vell', 'mara vell', 'Mara  Vell!'],
  ['Old Tom', 'old tom', '"Old Tom"'],
  ['Captain Iris Hale', 'captain iris hale'],
  ['Bram', 'BRAM'],
  ['Sister Quill', 'sister quill.'],
] as const;

const garbageAnswers = ['', '{"scene": "The fog thickens.", "choices": ["Only one way"]}', '<html>502 bad gateway</html>'];

// A provider retry follows its hung attempt within the backoff (at most a second or so).
const retryWindowMs = 2_500;
const maxRetriesPerCall = 2;

export class FakeModelServer {
  readonly calls: ModelCall[] = [];
  faults: ModelFaultRates;
  url = '';
  readonly #options: FakeModelOptions;
  readonly #random: Random;
  readonly #open = new Set<http.ServerResponse>();
  /** The latest hung call per incarnation and request body, and the hung calls already retried. */
  readonly #lastHang = new Map<string, ModelCall>();
  readonly #retried = new Set<number>();
  readonly #server = http.createServer((request, response) => void this.#dispatch(request, response));

  constructor(options: FakeModelOptions) {
    this.#options = options;
    this.faults = { ...options.faults };
    this.#random = createRandom(options.seed);
  }

  async start(): Promise<this> {
    // Like Go servers (Ollama, many proxies), keep idle connections far longer than Node's 5 s:
    // with Node's default a slow turn races the server closing the socket it is about to reuse,
    // and the client's retry of a request that never arrived is counted as a call.
    this.#server.keepAliveTimeout = 120_000;
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  baseUrlFor(incarnation: string): string {
    return `${this.url}/${incarnation}/v1`;
  }

  /** Calls of this incarnation whose answer is not finished yet: the process is mid-generation. */
  inFlight(incarnation: string): ModelCall[] {
    return this.calls.filter((call) => call.incarnation === incarnation && call.outcome === 'pending' && call.purpose !== 'talk');
  }

  async close(): Promise<void> {
    for (const response of this.#open) response.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #dispatch(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const match = /^\/([A-Za-z0-9_-]+)\/v1\/(chat\/completions|models)$/.exec(new URL(request.url ?? '/', 'http://x').pathname);
    const raw = await readBody(request);
    if (!match) return sendJson(response, 404, { error: { message: 'no such route' } });
    if (match[2] === 'models') return sendJson(response, 200, { object: 'list', data: [{ id: 'hammer-model', object: 'model' }] });
    let body: ChatBody;
    try {
      body = JSON.parse(raw) as ChatBody;
    } catch {
      return sendJson(response, 400, { error: { message: 'body is not JSON' } });
    }
    const call = this.#record(match[1]!, body);
    this.#open.add(response);
    response.on('close', () => {
      this.#open.delete(response);
      call.endedAt ??= Date.now();
      if (call.outcome === 'pending') call.outcome = 'closed';
    });
    try {
      await this.#answer(call, body, response);
    } catch {
      response.destroy();
    }
  }

  #record(incarnation: string, body: ChatBody): ModelCall {
    const messages = Array.isArray(body.messages) ? body.messages : [];
    const system = String(messages[0]?.content ?? '');
    // The reflection prompt also begins "You are …, a character", so it is told apart first.
    const purpose: CallPurpose = /^You keep a compact, factual record of an interactive story/.test(system)
      ? 'summary'
      : /^You are the inner voice of .*, a character/.test(system)
        ? 'reflection'
        : /^You are .*, a character/.test(system)
          ? 'talk'
          : messages.some((m) => m.role === 'assistant')
            ? 'repair'
            : /Title: /.test(system)
              ? 'scene'
              : 'other';
    const storyTitle =
      purpose === 'summary' || purpose === 'reflection'
        ? this.#titleOfSceneCalls(String(messages[1]?.content ?? ''))
        : ((purpose === 'talk' ? /in the story "(.*?)", set in/.exec(system) : /Title: (.*)/.exec(system))?.[1] ?? null);
    const bodyHash = createHash('sha1').update(JSON.stringify(messages)).digest('hex');
    const now = Date.now();
    const hungKey = `${incarnation}:${bodyHash}`;
    const hung = this.#lastHang.get(hungKey);
    const retryOf =
      hung && hung.endedAt !== undefined && now - hung.endedAt <= retryWindowMs && this.#retryDepth(hung) < maxRetriesPerCall && !this.#retried.has(hung.id)
        ? hung.id
        : undefined;
    if (retryOf !== undefined) this.#retried.add(retryOf);
    const roll = this.#random.next();
    const fault: CallFault = roll < this.faults.hangRate ? 'hang' : roll < this.faults.hangRate + this.faults.garbageRate ? 'garbage' : 'none';
    const call: ModelCall = {
      id: this.calls.length + 1,
      incarnation,
      purpose,
      storyTitle,
      stream: body.stream === true,
      fault,
      startedAt: now,
      endedAt: undefined,
      outcome: 'pending',
      retryOf,
      bodyHash,
    };
    this.calls.push(call);
    if (fault === 'hang') this.#lastHang.set(hungKey, call);
    return call;
  }

  /** A background prompt quotes scenes (or memories of them) that carry the calls that wrote them. */
  #titleOfSceneCalls(text: string): string | null {
    const id = /\[scene call ([0-9]+)\]/.exec(text)?.[1];
    return id === undefined ? null : (this.calls[Number(id) - 1]?.storyTitle ?? null);
  }

  #retryDepth(call: ModelCall): number {
    let depth = 0;
    for (let at = call; at.retryOf !== undefined; depth++) at = this.calls[at.retryOf - 1]!;
    return depth;
  }

  async #answer(call: ModelCall, body: ChatBody, response: http.ServerResponse): Promise<void> {
    if (call.fault === 'hang') {
      // Hold the request past the client's timeout; the client gives up and (maybe) retries.
      await sleepUnlessClosed(this.#options.hangMaxMs, response);
      response.destroy();
      return;
    }
    const [min, max] = this.#options.latencyMs;
    await sleepUnlessClosed(min + this.#random.next() * (max - min), response);
    if (response.destroyed) return;
    // A talk reply may be any text, so only an empty one is garbage for talk.
    const garbage = call.purpose === 'talk' || call.purpose === 'summary' ? '' : this.#random.pick(garbageAnswers);
    const text =
      call.fault === 'garbage'
        ? garbage
        : call.purpose === 'talk'
          ? this.#talkReply(call)
          : call.purpose === 'summary'
            ? this.#summaryAnswer(call)
            : call.purpose === 'reflection'
              ? this.#reflectionAnswer(call)
              : this.#sceneAnswer(call, body);
    const base = { id: `chatcmpl-${call.id}`, created: Math.floor(Date.now() / 1000), model: String(body.model ?? 'hammer-model') };
    const usage = { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 };
    if (!call.stream) {
      sendJson(response, 200, { ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }], usage });
      call.outcome = 'answered';
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const event = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
    const pieces = text.match(/[\s\S]{1,40}/g) ?? [];
    for (const [i, piece] of pieces.entries()) {
      if (response.destroyed) return;
      response.write(event({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: i === 0 ? { role: 'assistant', content: piece } : { content: piece }, finish_reason: null }] }));
      if (i % 8 === 7) await sleepUnlessClosed(1, response);
    }
    if (response.destroyed) return;
    response.end(
      event({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }) +
        event({ ...base, object: 'chat.completion.chunk', choices: [], usage }) +
        'data: [DONE]\n\n',
    );
    call.outcome = 'answered';
  }

  #talkReply(call: ModelCall): string {
    return `[talk call ${call.id}] The tide keeps its own counsel, and so do I.`;
  }

  #summaryAnswer(call: ModelCall): string {
    return `[summary call ${call.id}] The fog has not lifted; Mara Vell still owes the player a boat.`;
  }

  /** Conclusions citing the first two memories (a reflection is asked only with two or more). */
  #reflectionAnswer(call: ModelCall): string {
    return JSON.stringify({
      reflections: [
        { text: `[reflection call ${call.id}] The player keeps returning to the harbour.`, evidence: [1, 2] },
        { text: `[reflection call ${call.id}] Nobody here says what they know.`, evidence: [1] },
      ],
    });
  }

  #sceneAnswer(call: ModelCall, body: ChatBody): string {
    const user = String(body.messages?.[1]?.content ?? '');
    const chose = /The player chose: (.*)/.exec(user)?.[1] ?? 'arrive';
    const cast = this.#random.sample(castVariants, 1 + Math.floor(this.#random.next() * 3)).map((variants) => this.#random.pick(variants));
    const delta = () => Math.round((this.#random.next() * 0.4 - 0.2) * 100) / 100;
    return JSON.stringify({
      hammerCallId: call.id,
      scene: `[scene call ${call.id}] You ${chose.toLowerCase()}. ${cast.join(' and ')} ${cast.length > 1 ? 'watch' : 'watches'} you through the fog.`,
      choices: [`Follow the lantern (${call.id})`, `Ask about the boats (${call.id})`, `Climb to the lighthouse (${call.id})`],
      characters: cast.map((name, i) => ({
        name,
        role: 'present',
        importance: 0.5,
        mood: this.#random.pick(['wary', 'curious', 'tired', 'amused']),
        emotion: { valence: delta(), arousal: delta(), dominance: delta() },
        thought: `Call ${call.id} again.`,
        relationships: [
          { target: 'player', sentimentDelta: delta(), trustDelta: delta(), familiarityDelta: 0.1 },
          ...(cast[i + 1] ? [{ target: cast[i + 1]!, sentimentDelta: delta(), trustDelta: delta(), type: 'neighbour' }] : []),
        ],
      })),
    });
  }
}

interface ChatBody {
  model?: unknown;
  stream?: unknown;
  messages?: { role?: string; content?: unknown }[];
}

function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    request.on('data', (chunk: Buffer) => (data += chunk.toString()));
    request.on('end', () => resolve(data));
    request.on('error', () => resolve(data));
  });
}

function sendJson(response: http.ServerResponse, status: number, body: unknown): void {
  if (response.destroyed) return;
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

function sleepUnlessClosed(ms: number, response: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    if (response.destroyed) return resolve();
    const done = () => {
      clearTimeout(timer);
      response.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    response.on('close', done);
  });
}
