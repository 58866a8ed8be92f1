/**
 * HTTP figures, with real `livingworld serve` processes on server PostgreSQL:
 *  1. requests/s and p50/p95 for reading a story (GET /api/stories/:id) and for taking a turn
 *     (POST /api/stories/:id/turns, offline storyteller at 0 ms) with autocannon, against one
 *     serve process and against two on the same database (same total connections, split
 *     between them). One process is the baseline for two.
 *  2. the delay from a model token to its SSE byte at the client: an in-process server
 *     (startServer) whose model is swapped for one that streams marked tokens every 20 ms and
 *     notes when it hands each over; a client in the same process notes when each marker
 *     arrives (same clock). Baseline in the same run: a bare node:http SSE server writing the
 *     same marked chunks at the same pace to the same kind of client.
 *
 *   npx tsx bench/http.ts
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import autocannon from 'autocannon';
import type { Completion, CompletionRequest, ModelProvider } from '../src/llm/provider.js';
import { createOfflineProvider } from '../src/llm/providers/offline.js';
import { startServer } from '../src/server/start-server.js';
import { createStory } from '../src/story/create-story.js';
import { summarise, writeResult } from './lib.js';
import { envNumber, ratio, round, sized, sleep } from './support/bench-options.js';
import { openBenchServerDatabase } from './support/bench-databases.js';
import { createBenchEngine, loadOfflineEmbedder } from './support/bench-engine.js';
import { startServeProcess, type ServeProcess } from './support/serve-process.js';
import { watchMachineCpu } from './support/machine-cpu.js';

const storyCount = envNumber('BENCH_HTTP_STORIES', sized(400, 60));
const loadSeconds = envNumber('BENCH_HTTP_SECONDS', sized(8, 2));
const connections = 10;
const sseTurns = sized(12, 3);
const tokensPerTurn = 25;
const tokenGapMs = 20;

interface LoadFigures {
  servers: number;
  requestsPerSecond: number;
  ok: number;
  non2xx: number;
  errors: number;
  latencyMs: ReturnType<typeof summarise>;
  machineCpuBusyPercent: number;
}

/** Runs autocannon against each server at once (connections split evenly), on a shared story cursor. */
async function load(servers: ServeProcess[], kind: 'read' | 'turn', storyIds: string[]): Promise<LoadFigures> {
  let cursor = Math.floor(Math.random() * storyIds.length);
  const latencies: number[] = [];
  let ok = 0;
  const request = kind === 'read'
    ? { method: 'GET', setupRequest: (r: { path?: string }) => ({ ...r, path: `/api/stories/${storyIds[cursor++ % storyIds.length]}` }) }
    : {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        setupRequest: (r: { path?: string }) => {
          const n = cursor++;
          return { ...r, path: `/api/stories/${storyIds[n % storyIds.length]}/turns`, body: JSON.stringify({ choice: 1 + (n % 3) }) };
        },
      };
  const runs = servers.map((server) => {
    const instance = autocannon({ url: server.url, connections: connections / servers.length, duration: loadSeconds, timeout: 30, requests: [request] });
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
      if (statusCode >= 200 && statusCode < 300) {
        ok++;
        latencies.push(responseTimeMs);
      }
    });
    return instance;
  });
  const cpu = watchMachineCpu();
  const results = await Promise.all(runs);
  const machineCpuBusyPercent = cpu();
  const seconds = Math.max(...results.map((r) => r.duration));
  return {
    servers: servers.length,
    requestsPerSecond: round(ok / seconds, 1),
    ok,
    non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
    errors: results.reduce((sum, r) => sum + r.errors + r.timeouts, 0),
    latencyMs: summarise(latencies),
    machineCpuBusyPercent,
  };
}

/** A scene whose prose is the markers t0x t1x …, split so that each chunk ends right after one. */
function markedChunks(): { chunks: string[]; markers: string[] } {
  const markers = Array.from({ length: tokensPerTurn }, (_, i) => `t${i}x`);
  const text = JSON.stringify({
    scene: markers.join(' '),
    choices: ['Walk to the pier', 'Knock at the chandler', 'Wait for the tide'],
    characters: [],
  });
  const chunks: string[] = [];
  let from = 0;
  for (const marker of markers) {
    const end = text.indexOf(marker, from) + marker.length;
    chunks.push(text.slice(from, end));
    from = end;
  }
  chunks.push(text.slice(from));
  return { chunks, markers };
}

/**
 * Streams the marked scene, one marker every tokenGapMs, noting when each is handed to the
 * engine: through the request's onDelta, as the engine asks for streaming (callModel), and
 * through stream() alike.
 */
function createMarkerProvider(emitted: Map<string, number>, prefix: () => string): ModelProvider {
  const { chunks, markers } = markedChunks();
  async function* marked() {
    const turn = prefix();
    for (const [i, chunk] of chunks.entries()) {
      await sleep(tokenGapMs);
      if (i < markers.length) emitted.set(`${turn}:${markers[i]}`, performance.now());
      yield chunk;
    }
  }
  return {
    name: 'bench',
    model: 'marked-tokens',
    offline: false,
    async complete(request: CompletionRequest): Promise<Completion> {
      await request.onAttempt?.();
      if (request.onDelta) for await (const chunk of marked()) request.onDelta({ text: chunk });
      return { text: chunks.join(''), model: 'marked-tokens' };
    },
    stream: () => marked(),
  };
}

/** Reads an SSE response and notes when each marker first arrives. */
function readMarkers(response: http.IncomingMessage, turn: string, arrived: Map<string, number>): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    response.setEncoding('utf8');
    response.on('data', (data: string) => {
      const now = performance.now();
      buffer += data;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (!frame.startsWith('event: text')) continue;
        const payload = JSON.parse(frame.slice(frame.indexOf('data: ') + 6)) as { text: string };
        for (const match of payload.text.matchAll(/t\d+x/g)) {
          const key = `${turn}:${match[0]}`;
          if (!arrived.has(key)) arrived.set(key, now);
        }
      }
    });
    response.on('end', resolve);
    response.on('error', reject);
  });
}

function postEventStream(url: string, body: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' } }, resolve);
    request.on('error', reject);
    request.end(body);
  });
}

function delays(emitted: Map<string, number>, arrived: Map<string, number>): { samples: number[]; missing: number } {
  const samples: number[] = [];
  let missing = 0;
  for (const [key, at] of emitted) {
    const got = arrived.get(key);
    if (got === undefined) missing++;
    else samples.push(got - at);
  }
  return { samples, missing };
}

/** The baseline: a bare SSE server writing the same marked chunks at the same pace. */
async function measureBareSse(): Promise<{ samples: number[]; missing: number }> {
  const emitted = new Map<string, number>();
  const arrived = new Map<string, number>();
  const { markers } = markedChunks();
  let turn = 0;
  const server = http.createServer((request, response) => {
    const id = `bare${turn++}`;
    request.resume();
    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    response.write('retry: 2000\n\n');
    void (async () => {
      for (const marker of markers) {
        await sleep(tokenGapMs);
        emitted.set(`${id}:${marker}`, performance.now());
        response.write(`event: text\ndata: ${JSON.stringify({ text: `${marker} ` })}\n\n`);
      }
      response.end('event: scene\ndata: {}\n\n');
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  try {
    for (let i = 0; i < sseTurns; i++) {
      const id = `bare${turn}`;
      await readMarkers(await postEventStream(url, '{}'), id, arrived);
    }
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return delays(emitted, arrived);
}

async function measureEngineSse(env: NodeJS.ProcessEnv): Promise<{ samples: number[]; missing: number }> {
  const emitted = new Map<string, number>();
  const arrived = new Map<string, number>();
  let currentTurn = '';
  const running = await startServer({ host: '127.0.0.1', port: 0, env });
  try {
    running.runtime.deps.provider = createMarkerProvider(emitted, () => currentTurn);
    const { story } = await createStory(running.runtime.deps, { title: 'SSE delay', setting: 'A harbour at night.' });
    for (let i = 0; i < sseTurns; i++) {
      currentTurn = `engine${i}`;
      const response = await postEventStream(`${running.url}/api/stories/${story.id}/turns`, JSON.stringify({ choice: 1 + (i % 3) }));
      if (response.statusCode !== 200) throw new Error(`SSE turn answered ${response.statusCode}`);
      await readMarkers(response, currentTurn, arrived);
    }
  } finally {
    await running.app.close();
    await running.runtime.close();
  }
  // A figure over no tokens is no figure: the engine stopped streaming through this provider.
  if (emitted.size === 0) throw new Error('SSE delay: the engine streamed no token from the marker provider');
  return delays(emitted, arrived);
}

async function main(): Promise<void> {
  console.log(`http: ${storyCount} stories, autocannon ${connections} connections × ${loadSeconds} s against 1 and 2 serve processes; SSE token delay over ${sseTurns} streamed turns × ${tokensPerTurn} tokens`);
  const database = await openBenchServerDatabase({ poolSize: 8 });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-bench-http-'));
  const env: NodeJS.ProcessEnv = {
    DATABASE_URL: database.url,
    LLM_PROVIDER: 'offline',
    EMBEDDINGS_PROVIDER: 'offline',
    LIVINGWORLD_OFFLINE_LATENCY_MS: '0',
    LIVINGWORLD_DATA_DIR: dataDir,
    // The per-user limit (30 scenes a minute) would turn a load test into a 429 test.
    LIVINGWORLD_TURN_RATE_LIMIT: '100000000',
    LOG_LEVEL: 'warn',
  };
  const servers: ServeProcess[] = [];
  try {
    const embedder = await loadOfflineEmbedder();
    const engine = createBenchEngine(database.db, createOfflineProvider({ seed: 13 }), embedder);
    const storyIds: string[] = [];
    for (let i = 0; i < storyCount; i++) storyIds.push((await createStory(engine, { title: `HTTP ${i}`, setting: 'A canal city in spring.', seed: i })).story.id);

    servers.push(await startServeProcess(env));
    servers.push(await startServeProcess(env));
    const figures: Record<string, LoadFigures> = {};
    for (const kind of ['read', 'turn'] as const) {
      // Warm both processes (JIT, pools) before measuring.
      await load(servers, kind, storyIds).catch(() => undefined);
      figures[`${kind}1`] = await load(servers.slice(0, 1), kind, storyIds);
      figures[`${kind}2`] = await load(servers, kind, storyIds);
      for (const n of [1, 2]) {
        const f = figures[`${kind}${n}`]!;
        console.log(`  ${kind === 'read' ? 'GET story   ' : 'POST turn   '} ${n} process${n > 1 ? 'es' : '  '}: ${f.requestsPerSecond} req/s, p50 ${f.latencyMs.p50} ms p95 ${f.latencyMs.p95} ms, non-2xx ${f.non2xx}, errors ${f.errors}, machine CPU ${f.machineCpuBusyPercent}% busy`);
      }
    }
    await Promise.all(servers.splice(0).map((server) => server.stop()));

    const bare = await measureBareSse();
    const engineSse = await measureEngineSse(env);
    const bareSummary = summarise(bare.samples);
    const engineSummary = summarise(engineSse.samples);
    console.log(`  SSE token → client: engine p50 ${engineSummary.p50} ms p95 ${engineSummary.p95} ms (missing ${engineSse.missing}) | bare SSE p50 ${bareSummary.p50} ms p95 ${bareSummary.p95} ms`);

    const read1 = figures['read1']!;
    const read2 = figures['read2']!;
    const turn1 = figures['turn1']!;
    const turn2 = figures['turn2']!;
    writeResult('http', {
      benchmark: 'http',
      storyCount,
      loadSeconds,
      connections,
      readStory: { oneProcess: read1, twoProcesses: read2, twoOverOne: ratio(read2.requestsPerSecond, read1.requestsPerSecond) },
      takeTurn: { oneProcess: turn1, twoProcesses: turn2, twoOverOne: ratio(turn2.requestsPerSecond, turn1.requestsPerSecond) },
      sseTokenDelay: {
        engineMs: engineSummary,
        engineMissingMarkers: engineSse.missing,
        bareSseMs: bareSummary,
        extraP50Ms: round(engineSummary.p50 - bareSummary.p50, 3),
        ratioP50: ratio(engineSummary.p50, bareSummary.p50),
        ratioP95: ratio(engineSummary.p95, bareSummary.p95),
      },
      method:
        'Load: autocannon in this process, 10 connections in total (split 5+5 over two processes), a shared cursor over the stories so that concurrent turns never share a story; req/s counts 2xx answers only, p50/p95 from every 2xx response time. Turns: JSON answers (no SSE), offline storyteller at 0 ms; both serve processes use their default pool of 10. SSE delay: in-process startServer with the model replaced by one that yields a marked token every 20 ms and notes performance.now() at hand-over; the client (same process, same clock) notes arrival of each marker in an `event: text` frame. Baseline: a bare node:http server writing the same frames at the same pace. The machine has 2 cores shared by the client, the server processes and PostgreSQL.',
    });
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await database.dispose();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
