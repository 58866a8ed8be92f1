import type { FastifyInstance } from 'fastify';
import type { Database } from '../../src/db/index.js';
import type { ModelProvider } from '../../src/llm/provider.js';
import { createOfflineProvider } from '../../src/llm/providers/offline.js';
import { buildApp } from '../../src/server/app.js';
import { createAuthGate } from '../../src/server/auth.js';
import { InFlightRequests } from '../../src/server/in-flight-requests.js';
import { InFlightTurns } from '../../src/server/in-flight-turns.js';
import { loadServerConfig } from '../../src/server/server-config.js';
import type { ServerContext } from '../../src/server/server-context.js';
import { SseStreams } from '../../src/server/sse.js';
import { startStoryEventsRelay } from '../../src/server/story-events-relay.js';
import { createTestEngine } from '../helpers/engine.js';
import { createServerTestDatabase } from '../helpers/db.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-model-servers.js';
import { createOpenAIProvider } from '../../src/llm/providers/openai.js';

export interface TestServer {
  app: FastifyInstance;
  ctx: ServerContext;
  url: string;
  close(): Promise<void>;
}

/** The HTTP app in this process on a free port, over a test database and the offline storyteller by default. */
export async function startTestServer(db: Database, options: { provider?: ModelProvider; env?: Record<string, string>; leaseMs?: number } = {}): Promise<TestServer> {
  const provider = options.provider ?? createOfflineProvider({ seed: 3 });
  const deps = createTestEngine(db, provider, { leaseMs: options.leaseMs ?? 5_000 });
  const config = loadServerConfig({ LIVINGWORLD_SSE_HEARTBEAT_MS: '200', ...options.env });
  const relay = await startStoryEventsRelay(db, deps.log);
  const ctx: ServerContext = {
    runtime: { db, deps, log: deps.log, providerDescription: `${provider.name} (${provider.model})`, providerNotice: undefined },
    config,
    auth: createAuthGate(db, config.auth),
    relay,
    eventStreams: new SseStreams(),
    turns: new InFlightTurns(),
    requests: new InFlightRequests(),
    state: { shuttingDown: false },
  };
  const app = await buildApp(ctx);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    app,
    ctx,
    url: `http://127.0.0.1:${port}`,
    async close() {
      ctx.eventStreams.closeAll();
      await app.close();
      await relay.close();
    },
  };
}

export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** fetch with JSON in and out. */
export async function call<T = any>(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonResponse<T>> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: parsed as T };
}

/** Reads a whole event-stream response into its events. */
export function parseEventStream(text: string): { event: string; data: any }[] {
  return text
    .split('\n\n')
    .map((block) => ({ event: /^event: (.*)$/m.exec(block)?.[1], data: /^data: (.*)$/m.exec(block)?.[1] }))
    .filter((e): e is { event: string; data: string } => e.event !== undefined && e.data !== undefined)
    .map((e) => ({ event: e.event, data: JSON.parse(e.data) }));
}

/** A test server whose storyteller is a fake OpenAI-compatible model on 127.0.0.1 that records every prompt. */
export interface RecordingModelServer {
  db: Database;
  model: FakeOpenAI;
  server: TestServer;
  close(): Promise<void>;
}

export async function startRecordingModelServer(answer: string): Promise<RecordingModelServer> {
  const database = await createServerTestDatabase({ poolSize: 6 });
  const model = await startFakeOpenAI();
  model.script = { ...model.script, text: answer };
  const provider = createOpenAIProvider({ baseUrl: `${model.url}/v1`, model: 'qwen2.5-7b-instruct', timeoutMs: 5_000, maxRetries: 0 });
  const server = await startTestServer(database.db, { provider });
  return {
    db: database.db,
    model,
    server,
    async close() {
      await server.close();
      await model.close();
      await database.drop();
    },
  };
}
