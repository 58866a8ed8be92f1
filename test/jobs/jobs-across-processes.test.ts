import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { FakeOpenAI } from '../helpers/fake-model-servers.js';
import { startServeProcess, type ServeProcess } from '../server/serve-process.js';
import { call } from '../server/test-server.js';

/**
 * Two `livingworld serve` processes on one PostgreSQL, both running the job queue, a model
 * stand-in on 127.0.0.1 that takes its time over summaries and reflections. One process is
 * SIGKILLed while jobs are in its hands and the database kills every serve connection twice;
 * in the end every job is done and each one's result landed exactly once.
 */

const summaryMarker = 'You keep a compact, factual record';
const reflectionMarker = 'You are the inner voice of';
const isBackgroundCall = (body: any) => [summaryMarker, reflectionMarker].some((marker) => String(body.messages?.[0]?.content ?? '').includes(marker));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class SlowSummaryModel extends FakeOpenAI {
  summaryRequests = 0;
  protected override routes() {
    const routes = super.routes();
    const chat = routes['POST /v1/chat/completions']!;
    routes['POST /v1/chat/completions'] = async (request, body, response) => {
      if (isBackgroundCall(body)) {
        this.summaryRequests++;
        await sleep(600);
      }
      return chat(request, body, response);
    };
    return routes;
  }
}

function sceneAnswer(body: any): string {
  if (String(body.messages?.[0]?.content ?? '').includes(summaryMarker)) return `Summary written at ${Date.now()}: the crossing continues.`;
  if (String(body.messages?.[0]?.content ?? '').includes(reflectionMarker)) return JSON.stringify({ reflections: [{ text: `Oren trusts the crossing (${Date.now()}).`, evidence: [1, 2] }] });
  return JSON.stringify({
    scene: `The ferry creaks on, ${Math.random().toString(36).slice(2, 8)}; the river is wide and brown.`,
    choices: ['Watch the bank', 'Talk to the ferryman', 'Sleep on the deck'],
    characters: [{ name: 'Oren Dask', role: 'present', importance: 0.5 }],
  });
}

let database: TestServerDatabase;
let model: SlowSummaryModel;
const processes: ServeProcess[] = [];

function serveEnv(): Record<string, string> {
  return {
    DATABASE_URL: database.url,
    LLM_PROVIDER: 'openai',
    OPENAI_BASE_URL: `${model.url}/v1`,
    OPENAI_MODEL: 'qwen2.5-7b-instruct',
    LIVINGWORLD_SUMMARIES: 'model',
    LIVINGWORLD_SUMMARY_EVERY: '1',
    // Oren's memories of a scene weigh about 1.5: a reflection is due every other scene or so.
    LIVINGWORLD_REFLECTION_THRESHOLD: '2',
    LIVINGWORLD_JOB_LEASE_MS: '1500',
    LIVINGWORLD_BACKGROUND_WHILE_GENERATING: 'true',
  };
}

async function killServeConnections(): Promise<number> {
  const client = new pg.Client(database.url);
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'livingworld-serve' AND pid <> pg_backend_pid()`,
    );
    return rows.length;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  database = await createServerTestDatabase();
  model = await new SlowSummaryModel().start();
  model.reply({ textFor: (body) => sceneAnswer(body) });
  processes.push(...(await Promise.all([startServeProcess({ env: serveEnv() }), startServeProcess({ env: serveEnv() })])));
}, 90_000);
afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await model?.close();
  await database?.drop();
});

/** A turn as a client takes it: with a key, sent again (bounded) while the server answers 503 — its connections were just killed. */
async function takeTurnRetrying(url: string, storyId: string, choice: number): Promise<{ status: number }> {
  const key = randomUUID();
  let answer = await call(url, 'POST', `/api/stories/${storyId}/turns`, { choice }, { 'idempotency-key': key });
  for (let attempt = 0; attempt < 5 && answer.status === 503; attempt++) {
    await sleep(200 * (attempt + 1));
    answer = await call(url, 'POST', `/api/stories/${storyId}/turns`, { choice }, { 'idempotency-key': key });
  }
  return answer;
}

describe('background jobs across two serve processes, under faults', () => {
  it('runs each summary and reflection job exactly once through a SIGKILL mid-job and killed connections', async () => {
    const [a, b] = processes as [ServeProcess, ServeProcess];
    const stories: string[] = [];
    let heldByA: string[] = [];
    for (let s = 0; s < 3; s++) {
      const created = await call(b.url, 'POST', '/api/stories', { title: `Ferry ${s}`, setting: 'A slow river ferry between two towns' });
      expect(created.status).toBe(201);
      stories.push(created.body.story.id);
    }
    // Turns through B only: A is the one to die. Scenes 5..10 of each story queue a job each.
    for (let turn = 0; turn < 9; turn++) {
      for (const storyId of stories) expect((await takeTurnRetrying(b.url, storyId, 1 + (turn % 3))).status).toBe(201);
      if (turn === 5) {
        // Kill A without warning while a job is in its hands (each summary takes 600 ms).
        const deadline = Date.now() + 15_000;
        while (heldByA.length === 0 && Date.now() < deadline) {
          const { rows } = await database.db.query<{ id: string }>(
            `SELECT id FROM background_jobs WHERE status = 'running' AND lease_owner LIKE '%:' || $1::text || ':%'`,
            [String(a.child.pid)],
          );
          heldByA = rows.map((row) => row.id);
          if (heldByA.length === 0) await sleep(20);
        }
        expect(heldByA.length).toBeGreaterThan(0);
        await a.stop('SIGKILL');
        expect(await killServeConnections()).toBeGreaterThan(0);
      }
    }
    await sleep(400);
    await killServeConnections();
    const { rows: total } = await database.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM background_jobs WHERE kind = 'summary'`);
    expect(total[0]!.n).toBe(3 * 6);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { rows } = await database.db.query<{ open: number }>(`SELECT count(*)::int AS open FROM background_jobs WHERE status <> 'done'`);
      if (rows[0]!.open === 0) break;
      if (Date.now() > deadline) throw new Error(`jobs still open: ${JSON.stringify((await database.db.query(`SELECT status, attempts, last_error FROM background_jobs WHERE status <> 'done'`)).rows)}\n${b.stderr().slice(-2000)}`);
      await sleep(250);
    }
    // Exactly one summary per job, at the job's scene; no completion was refused as a duplicate.
    const { rows: perJob } = await database.db.query<{ summaries: number; attempts: number; last_error: string | null }>(
      `SELECT (SELECT count(*)::int FROM memories m WHERE m.story_id = j.story_id AND m.kind = 'summary' AND m.scene_id = j.scene_id) AS summaries, j.attempts, j.last_error
         FROM background_jobs j WHERE j.kind = 'summary'`,
    );
    const { rows: allJobs } = await database.db.query<{ last_error: string | null }>(`SELECT last_error FROM background_jobs`);
    expect(allJobs.filter((job) => /23505|duplicate/.test(job.last_error ?? ''))).toEqual([]);
    expect(perJob.map((job) => job.summaries)).toEqual(perJob.map(() => 1));
    expect(perJob.filter((job) => /23505|duplicate/.test(job.last_error ?? ''))).toEqual([]);
    const { rows: summaries } = await database.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM memories WHERE kind = 'summary'`);
    expect(summaries[0]!.n).toBe(3 * 6);
    // Each reflection job's conclusions landed once: one per character it was queued for.
    const { rows: reflectionJobs } = await database.db.query<{ characters: number; reflections: number }>(
      `SELECT jsonb_array_length(j.payload -> 'characterIds') AS characters,
              (SELECT count(*)::int FROM character_memories m WHERE m.story_id = j.story_id AND m.kind = 'reflection' AND m.scene_id = j.scene_id) AS reflections
         FROM background_jobs j WHERE j.kind = 'reflection'`,
    );
    expect(reflectionJobs.length).toBeGreaterThan(0);
    expect(reflectionJobs.map((job) => job.reflections)).toEqual(reflectionJobs.map((job) => job.characters));
    // The jobs the killed process held were taken over and finished by the other.
    const { rows: takenOver } = await database.db.query<{ attempts: number; status: string }>(`SELECT attempts, status FROM background_jobs WHERE id = ANY($1::uuid[])`, [heldByA]);
    expect(takenOver.every((job) => job.status === 'done' && job.attempts >= 2)).toBe(true);
    // Visible in /metrics of the survivor.
    const metrics = await fetch(`${b.url}/metrics`).then((response) => response.text());
    expect(metrics).toContain('livingworld_background_jobs{kind="summary",status="done"} 18');
  }, 180_000);
});
