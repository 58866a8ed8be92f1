import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import { createStory } from '../../src/story/create-story.js';
import { takeTurn, type TurnResult } from '../../src/story/take-turn.js';
import { getPathTo, getStory } from '../../src/story/story-repo.js';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { createCountingProvider } from '../helpers/counting-provider.js';
import { createTestEngine } from '../helpers/engine.js';

const workerPath = path.resolve('test/helpers/turn-worker.ts');

let server: TestServerDatabase;
beforeAll(async () => {
  server = await createServerTestDatabase({ poolSize: 20 });
});
afterAll(async () => server.drop());

async function openStory(latencyMs = 300, leaseMs = 5_000) {
  const provider = createCountingProvider({ latencyMs });
  const deps = createTestEngine(server.db, provider, { leaseMs });
  const { story, opening } = await createStory(deps, { title: 'Salt and Lanterns', setting: 'A harbour town in fog' });
  return { provider, deps, storyId: story.id, openingId: opening.scene.id };
}

async function childrenOf(storyId: string, sceneId: string): Promise<string[]> {
  const { rows } = await server.db.query<{ id: string }>('SELECT id FROM scenes WHERE story_id = $1 AND parent_scene_id = $2', [storyId, sceneId]);
  return rows.map((r) => r.id);
}

async function expectLinearHeadPath(storyId: string): Promise<void> {
  const story = await getStory(server.db, storyId);
  const path = await getPathTo(server.db, storyId, story.headSceneId!);
  expect(path.map((s) => s.sceneNumber)).toEqual(path.map((_, i) => i + 1));
  const { rows } = await server.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM turns WHERE story_id = $1 AND status = 'generating'`, [storyId]);
  expect(rows[0]!.n).toBe(0);
}

async function settle(promises: Promise<TurnResult>[]) {
  const results = await Promise.allSettled(promises);
  const scenes = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  return { scenes, errors };
}

describe('concurrent turns on one story (real PostgreSQL)', () => {
  it.each([2, 10, 50])('%i identical advances share one generation and every caller gets its scene', async (n) => {
    const { provider, deps, storyId, openingId } = await openStory();
    const callsBefore = provider.calls;
    const { scenes, errors } = await settle(
      Array.from({ length: n }, () => takeTurn(deps, { storyId, kind: 'advance', choiceNumber: 2, fromSceneId: openingId })),
    );
    expect(errors).toEqual([]);
    expect(provider.calls - callsBefore).toBe(1);
    expect(new Set(scenes.map((s) => s.scene.id)).size).toBe(1);
    expect(scenes.filter((s) => s.how === 'generated')).toHaveLength(1);
    expect(await childrenOf(storyId, openingId)).toEqual([scenes[0]!.scene.id]);
    expect(scenes[0]!.scene.sceneNumber).toBe(2);
    await expectLinearHeadPath(storyId);
  });

  it.each([2, 10, 50])('%i different advances: exactly one wins and the rest get turn_conflict carrying the new head', async (n) => {
    const { provider, deps, storyId, openingId } = await openStory();
    const callsBefore = provider.calls;
    const { scenes, errors } = await settle(
      Array.from({ length: n }, (_, i) =>
        takeTurn(deps, { storyId, kind: 'advance', choiceNumber: (i % 3) + 1, instruction: `variant ${i}`, fromSceneId: openingId }),
      ),
    );
    expect(scenes).toHaveLength(1);
    expect(provider.calls - callsBefore).toBe(1);
    expect(errors).toHaveLength(n - 1);
    for (const error of errors) {
      expect(isAppError(error, 'turn_conflict')).toBe(true);
      expect((error as { details: { headSceneId: string } }).details.headSceneId).toBe(scenes[0]!.scene.id);
    }
    expect(await childrenOf(storyId, openingId)).toHaveLength(1);
    await expectLinearHeadPath(storyId);
  });

  it('answers a stale fromSceneId with turn_conflict and the current head, writing nothing', async () => {
    const { deps, storyId, openingId } = await openStory(0);
    const second = await takeTurn(deps, { storyId, kind: 'advance', choiceNumber: 1, fromSceneId: openingId });
    const before = await getStory(server.db, storyId);
    const error = await takeTurn(deps, { storyId, kind: 'advance', choiceNumber: 3, fromSceneId: openingId }).catch((e: unknown) => e);
    expect(isAppError(error, 'turn_conflict')).toBe(true);
    expect((error as { details: { headSceneId: string } }).details.headSceneId).toBe(second.scene.id);
    expect((await getStory(server.db, storyId)).version).toBe(before.version);
  });

  it('returns the same scene for a repeated idempotency key, even after the story moved on', async () => {
    const { provider, deps, storyId, openingId } = await openStory(0);
    const first = await takeTurn(deps, { storyId, kind: 'advance', choiceNumber: 1, idempotencyKey: 'click-1' });
    await takeTurn(deps, { storyId, kind: 'advance', choiceNumber: 2 });
    const calls = provider.calls;
    const again = await takeTurn(deps, { storyId, kind: 'advance', choiceNumber: 1, idempotencyKey: 'click-1' });
    expect(again.scene.id).toBe(first.scene.id);
    expect(again.how).toBe('replayed');
    expect(provider.calls).toBe(calls);
    await expect(takeTurn(deps, { storyId, kind: 'advance', choiceNumber: 2, idempotencyKey: 'click-1' })).rejects.toMatchObject({
      code: 'idempotency_mismatch',
    });
    expect(await childrenOf(storyId, openingId)).toHaveLength(1);
  });

  it('gives a late duplicate of a finished request the scene that request produced', async () => {
    const { provider, deps, storyId, openingId } = await openStory(0);
    const first = await takeTurn(deps, { storyId, kind: 'advance', choiceNumber: 2, fromSceneId: openingId });
    const calls = provider.calls;
    const late = await takeTurn(deps, { storyId, kind: 'advance', choiceNumber: 2, fromSceneId: openingId });
    expect(late.scene.id).toBe(first.scene.id);
    expect(provider.calls).toBe(calls);
  });

  it('regenerates the head as a new sibling, keeping the old scene in the tree, and double clicks share one', async () => {
    const { provider, deps, storyId, openingId } = await openStory(200);
    const second = await takeTurn(deps, { storyId, kind: 'advance', choiceNumber: 3, fromSceneId: openingId });
    const calls = provider.calls;
    const [a, b] = await Promise.all([
      takeTurn(deps, { storyId, kind: 'regenerate', fromSceneId: second.scene.id }),
      takeTurn(deps, { storyId, kind: 'regenerate', fromSceneId: second.scene.id }),
    ]);
    expect(a.scene.id).toBe(b.scene.id);
    expect(provider.calls - calls).toBe(1);
    expect(a.scene.parentSceneId).toBe(openingId);
    expect(a.scene.choiceNumber).toBe(3);
    expect((await childrenOf(storyId, openingId)).sort()).toEqual([second.scene.id, a.scene.id].sort());
    expect((await getStory(server.db, storyId)).headSceneId).toBe(a.scene.id);
  });

  it('records a failed model call on the turn and writes nothing else', async () => {
    const provider = createCountingProvider({ latencyMs: 0, answer: () => 'no choices here at all' });
    const setup = await openStory(0);
    const deps = createTestEngine(server.db, provider);
    const before = await getStory(server.db, setup.storyId);
    await expect(takeTurn(deps, { storyId: setup.storyId, kind: 'advance', choiceNumber: 1 })).rejects.toMatchObject({ code: 'llm_bad_output' });
    expect(provider.calls).toBe(2); // the answer, then one corrective re-ask
    const after = await getStory(server.db, setup.storyId);
    expect(after.version).toBe(before.version);
    expect(after.headSceneId).toBe(before.headSceneId);
    const { rows } = await server.db.query<{ status: string; error_code: string; model_calls: number }>(
      `SELECT status, error_code, model_calls FROM turns WHERE story_id = $1 ORDER BY created_at DESC LIMIT 1`,
      [setup.storyId],
    );
    expect(rows[0]).toEqual({ status: 'failed', error_code: 'llm_bad_output', model_calls: 2 });
    expect(await childrenOf(setup.storyId, setup.openingId)).toHaveLength(0);
  });

  it('cancels a turn cleanly: nothing is written and the story can go on', async () => {
    const { deps, storyId, openingId } = await openStory(2_000);
    const controller = new AbortController();
    const pending = takeTurn(deps, { storyId, kind: 'advance', choiceNumber: 1, signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    await expect(pending).rejects.toMatchObject({ code: 'cancelled' });
    expect(await childrenOf(storyId, openingId)).toHaveLength(0);
    const fast = createTestEngine(server.db, createCountingProvider({ latencyMs: 0 }));
    await expect(takeTurn(fast, { storyId, kind: 'advance', choiceNumber: 1 })).resolves.toBeTruthy();
  });
});

interface WorkerOutput {
  calls: number;
  results: ({ sceneId: string; how: string } | { error: string; headSceneId: string | null })[];
}

function runWorker(args: object, onReady?: (pid: number) => void): { done: Promise<WorkerOutput>; pid: number; kill: () => void } {
  const child = spawn(process.execPath, ['--import', 'tsx', workerPath, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (stdout.includes('"ready"')) onReady?.(child.pid!);
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<WorkerOutput>((resolve, reject) => {
    child.on('exit', (code, signal) => {
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code === 0) resolve(JSON.parse(last) as WorkerOutput);
      else reject(new Error(`worker exited with ${code ?? signal}: ${stderr.slice(-2000)}`));
    });
  });
  return { done, pid: child.pid!, kill: () => child.kill('SIGKILL') };
}

/** Waits until a (doomed) worker process holds the story's generating turn. */
async function waitForGeneratingTurn(storyId: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { rows } = await server.db.query(`SELECT 1 FROM turns WHERE story_id = $1 AND status = 'generating'`, [storyId]);
    if (rows.length > 0) return;
    if (Date.now() > deadline) throw new Error('worker never claimed the turn');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('concurrent turns from several processes (real PostgreSQL)', () => {
  it('50 identical advances across 5 processes: one generation, one scene, every caller gets it', async () => {
    const { storyId, openingId } = await openStory(0);
    const startAt = Date.now() + 4_000;
    const workers = Array.from({ length: 5 }, () =>
      runWorker({ url: server.url, storyId, startAt, latencyMs: 300, leaseMs: 5_000, requests: Array.from({ length: 10 }, () => ({ choiceNumber: 2, fromSceneId: openingId })) }),
    );
    const outputs = await Promise.all(workers.map((w) => w.done));
    expect(outputs.reduce((sum, o) => sum + o.calls, 0)).toBe(1);
    const sceneIds = new Set(outputs.flatMap((o) => o.results.map((r) => ("sceneId" in r ? r.sceneId : `error:${JSON.stringify(r)}`))));
    expect([...sceneIds]).toEqual([...sceneIds].slice(0, 1));
    expect(await childrenOf(storyId, openingId)).toEqual([...sceneIds]);
    await expectLinearHeadPath(storyId);
  });

  it('50 different advances across 5 processes: exactly one wins, the rest get turn_conflict with the new head', async () => {
    const { storyId, openingId } = await openStory(0);
    const startAt = Date.now() + 4_000;
    const workers = Array.from({ length: 5 }, (_, w) =>
      runWorker({
        url: server.url,
        storyId,
        startAt,
        latencyMs: 300,
        leaseMs: 5_000,
        requests: Array.from({ length: 10 }, (_, i) => ({ choiceNumber: (i % 3) + 1, instruction: `worker ${w} request ${i}`, fromSceneId: openingId })),
      }),
    );
    const outputs = await Promise.all(workers.map((w) => w.done));
    expect(outputs.reduce((sum, o) => sum + o.calls, 0)).toBe(1);
    const results = outputs.flatMap((o) => o.results);
    const winners = results.filter((r): r is { sceneId: string; how: string } => 'sceneId' in r);
    expect(winners).toHaveLength(1);
    const losers = results.filter((r): r is { error: string; headSceneId: string | null } => 'error' in r);
    expect(losers).toHaveLength(49);
    expect(losers.filter((l) => l.error !== 'turn_conflict' || l.headSceneId !== winners[0]!.sceneId)).toEqual([]);
    await expectLinearHeadPath(storyId);
  });

  it('takes over a turn whose process was killed mid-generation once its lease expires', async () => {
    const { storyId, openingId } = await openStory(0);
    const worker = runWorker({ url: server.url, storyId, startAt: 0, latencyMs: 60_000, leaseMs: 1_000, requests: [{ choiceNumber: 2, fromSceneId: openingId }] });
    await waitForGeneratingTurn(storyId);
    worker.kill();
    await worker.done.catch(() => undefined);

    const survivor = createTestEngine(server.db, createCountingProvider({ latencyMs: 50 }), { leaseMs: 1_000 });
    const result = await takeTurn(survivor, { storyId, kind: 'advance', choiceNumber: 2, fromSceneId: openingId });
    expect(result.how).toBe('generated');
    expect(await childrenOf(storyId, openingId)).toEqual([result.scene.id]);
    const { rows } = await server.db.query<{ status: string; attempts: number }>(`SELECT status, attempts FROM turns WHERE story_id = $1 AND from_scene_id = $2`, [storyId, openingId]);
    expect(rows).toEqual([{ status: 'succeeded', attempts: 2 }]);
    await expectLinearHeadPath(storyId);
  });

  it('lets a different request go ahead after a dead turn’s lease expires', async () => {
    const { storyId, openingId } = await openStory(0);
    const worker = runWorker({ url: server.url, storyId, startAt: 0, latencyMs: 60_000, leaseMs: 800, requests: [{ choiceNumber: 1, fromSceneId: openingId }] });
    await waitForGeneratingTurn(storyId);
    worker.kill();
    await worker.done.catch(() => undefined);
    const survivor = createTestEngine(server.db, createCountingProvider({ latencyMs: 0 }), { leaseMs: 800 });
    const result = await takeTurn(survivor, { storyId, kind: 'advance', choiceNumber: 3, fromSceneId: openingId });
    expect(result.scene.choiceNumber).toBe(3);
    const { rows } = await server.db.query<{ status: string; error_code: string | null }>(
      `SELECT status, error_code FROM turns WHERE story_id = $1 AND from_scene_id = $2 ORDER BY created_at`,
      [storyId, openingId],
    );
    expect(rows).toEqual([
      { status: 'failed', error_code: 'lease_expired' },
      { status: 'succeeded', error_code: null },
    ]);
    await expectLinearHeadPath(storyId);
  });
});
