import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createStory } from '../../src/story/create-story.js';
import { takeTurn } from '../../src/story/take-turn.js';
import { getStory, lockStoryAndTurn } from '../../src/story/story-repo.js';
import { isConnectionError, withTransaction } from '../../src/db/index.js';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { createCountingProvider } from '../helpers/counting-provider.js';
import { createTestEngine } from '../helpers/engine.js';

let server: TestServerDatabase;
let serializable: TestServerDatabase;
beforeAll(async () => {
  server = await createServerTestDatabase();
  serializable = await createServerTestDatabase({ transactionDefaults: { isolation: 'serializable' } });
});
afterAll(async () => {
  await server.drop();
  await serializable.drop();
});

async function childCount(db: TestServerDatabase, storyId: string, sceneId: string): Promise<number> {
  const { rows } = await db.db.query<{ n: number }>('SELECT count(*)::int AS n FROM scenes WHERE story_id = $1 AND parent_scene_id = $2', [storyId, sceneId]);
  return rows[0]!.n;
}

describe('idempotency keys', () => {
  it('remembers a key whose request joined an unkeyed turn, so a retry gets that scene and writes nothing', async () => {
    const provider = createCountingProvider({ latencyMs: 300 });
    const deps = createTestEngine(server.db, provider);
    const { story, opening } = await createStory(deps, { title: 'Keys', setting: 'A harbour' });
    const [unkeyed, keyed] = await Promise.all([
      takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 1, fromSceneId: opening.scene.id }),
      new Promise((r) => setTimeout(r, 50)).then(() =>
        takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 1, fromSceneId: opening.scene.id, idempotencyKey: 'tab-2' }),
      ),
    ]);
    expect(keyed.how).toBe('joined');
    expect(keyed.scene.id).toBe(unkeyed.scene.id);
    const calls = provider.calls;
    const retry = await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 1, idempotencyKey: 'tab-2' });
    expect(retry.scene.id).toBe(unkeyed.scene.id);
    expect(retry.how).toBe('replayed');
    expect(provider.calls).toBe(calls);
    expect(await childCount(server, story.id, unkeyed.scene.id)).toBe(0);
  });

  it('remembers a key whose request was answered as a late duplicate', async () => {
    const deps = createTestEngine(server.db, createCountingProvider({ latencyMs: 0 }));
    const { story, opening } = await createStory(deps, { title: 'Late', setting: 'A harbour' });
    const first = await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 2, fromSceneId: opening.scene.id });
    const late = await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 2, fromSceneId: opening.scene.id, idempotencyKey: 'late-1' });
    expect(late.how).toBe('replayed');
    const retry = await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 2, idempotencyKey: 'late-1' });
    expect(retry.scene.id).toBe(first.scene.id);
    expect(await childCount(server, story.id, first.scene.id)).toBe(0);
  });

  it('under SERIALIZABLE, 10 simultaneous requests with one key all get the one scene (no 500)', async () => {
    const provider = createCountingProvider({ latencyMs: 200 });
    const deps = createTestEngine(serializable.db, provider);
    const { story, opening } = await createStory(deps, { title: 'Double click', setting: 'A harbour' });
    const calls = provider.calls;
    const results = await Promise.all(
      Array.from({ length: 10 }, () => takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 3, fromSceneId: opening.scene.id, idempotencyKey: 'click' })),
    );
    expect(new Set(results.map((r) => r.scene.id)).size).toBe(1);
    expect(provider.calls - calls).toBe(1);
    expect(await childCount(serializable, story.id, opening.scene.id)).toBe(1);
  });
});

describe('a story whose opening was cut off', () => {
  it('gets its opening written by a regenerate once the dead turn’s lease has expired', async () => {
    const deps = createTestEngine(server.db, createCountingProvider({ latencyMs: 0 }), { leaseMs: 500 });
    const { rows } = await server.db.query<{ id: string }>(`INSERT INTO stories (title, setting) VALUES ('Cut off', 'A harbour') RETURNING id`);
    const storyId = rows[0]!.id;
    // What a process killed while writing the opening leaves behind.
    await server.db.query(
      `INSERT INTO turns (story_id, kind, request_hash, status, lease_owner, lease_expires_at)
       VALUES ($1, 'open', $2, 'generating', 'dead-process', now() - interval '1 second')`,
      [storyId, (await import('../../src/story/request-hash.js')).turnRequestHash('open', null, null, null)],
    );
    await expect(takeTurn(deps, { storyId, kind: 'advance', choiceNumber: 1 })).rejects.toMatchObject({ code: 'validation' });
    const opened = await takeTurn(deps, { storyId, kind: 'regenerate' });
    expect(opened.scene.sceneNumber).toBe(1);
    expect((await getStory(server.db, storyId)).headSceneId).toBe(opened.scene.id);
    const turns = await server.db.query<{ status: string; attempts: number }>(`SELECT status, attempts FROM turns WHERE story_id = $1`, [storyId]);
    expect(turns.rows).toEqual([{ status: 'succeeded', attempts: 2 }]);
  });
});

describe('connections killed under load', () => {
  it('survives pg_terminate_backend on its connections: queries fail as connection errors, the process does not crash', async () => {
    const admin = new pg.Client(server.url);
    await admin.connect();
    const errors: unknown[] = [];
    let ok = 0;
    const deadline = Date.now() + 2_500;
    const killer = (async () => {
      while (Date.now() < deadline) {
        await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'livingworld-test' AND pid <> pg_backend_pid()`);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const load = Array.from({ length: 6 }, async () => {
      while (Date.now() < deadline) {
        try {
          await server.db.query('SELECT pg_sleep(0.03)');
          ok++;
        } catch (error) {
          errors.push(error);
        }
      }
    });
    await Promise.all([killer, ...load]);
    await admin.end();
    expect(ok).toBeGreaterThan(0);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => isConnectionError(e))).toBe(true);
    await expect(server.db.query('SELECT 1')).resolves.toBeTruthy();
  });
});

describe('counting model calls', () => {
  it('counts a call once when the reply to its count is lost and the write is sent again', async () => {
    // The count lands, then the connection "drops" before its reply: the counter resends it.
    let lost = 0;
    const losingDb: typeof server.db = Object.create(server.db, {
      query: {
        value: async (...args: Parameters<typeof server.db.query>) => {
          const result = await server.db.query(...args);
          if (lost === 0 && /SET model_calls = GREATEST/.test(String(args[0]))) {
            lost++;
            throw new Error('Connection terminated unexpectedly');
          }
          return result;
        },
      },
    });
    const provider = createCountingProvider({ latencyMs: 0 });
    const { story, opening } = await createStory(createTestEngine(server.db, provider), { title: 'Counted', setting: 'A harbour' });
    const turn = await takeTurn(createTestEngine(losingDb, provider), { storyId: story.id, kind: 'advance', choiceNumber: 1, fromSceneId: opening.scene.id });
    expect(lost).toBe(1);
    const { rows } = await server.db.query<{ model_calls: number }>('SELECT model_calls FROM turns WHERE id = $1', [turn.turnId]);
    expect(rows[0]!.model_calls).toBe(1);
  });

  it('keeps the calls a failed turn spent when a retry with its key claims it again', async () => {
    // Call 1 writes the opening; the turn's first claim gets garbage for its answer and its re-ask, and fails.
    let failing = true;
    const provider = createCountingProvider({
      latencyMs: 0,
      answer: (_request, call) =>
        call > 1 && failing
          ? 'not a scene at all'
          : JSON.stringify({ scene: `Call ${call}: the tide turns.`, choices: ['Wait', 'Go', 'Ask'], characters: [] }),
    });
    const deps = createTestEngine(server.db, provider);
    const { story, opening } = await createStory(deps, { title: 'Spent', setting: 'A harbour' });
    const input = { storyId: story.id, kind: 'advance' as const, choiceNumber: 1, fromSceneId: opening.scene.id, idempotencyKey: 'spent-1' };
    await expect(takeTurn(deps, input)).rejects.toMatchObject({ code: 'llm_bad_output' });
    const spent = provider.calls - 1;
    expect(spent).toBeGreaterThanOrEqual(1);
    failing = false;
    const turn = await takeTurn(deps, input);
    expect(turn.how).not.toBe('replayed');
    const { rows } = await server.db.query<{ model_calls: number }>('SELECT model_calls FROM turns WHERE id = $1', [turn.turnId]);
    expect(rows[0]!.model_calls).toBe(spent + 1);
    expect(provider.calls - 1).toBe(spent + 1);
  });
});

describe('the commit’s lock of the story and the turn', () => {
  it('sees a takeover that committed while it waited for the story, in one statement', async () => {
    const { rows } = await server.db.query<{ id: string }>(`INSERT INTO stories (title, setting) VALUES ('Taken over', 'A harbour') RETURNING id`);
    const storyId = rows[0]!.id;
    const { rows: turns } = await server.db.query<{ id: string }>(
      `INSERT INTO turns (story_id, kind, request_hash, status, lease_owner, lease_expires_at)
       VALUES ($1, 'open', 'h', 'generating', 'first-process', now() + interval '1 minute') RETURNING id`,
      [storyId],
    );
    const turnId = turns[0]!.id;
    // Another process holds the story (a claim taking the turn over) while this commit asks for it.
    const other = new pg.Client(server.url);
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(`SELECT 1 FROM stories WHERE id = $1 FOR NO KEY UPDATE`, [storyId]);
      await other.query(`UPDATE turns SET lease_owner = 'second-process', attempts = attempts + 1 WHERE id = $1`, [turnId]);
      let settled = false;
      const locked = withTransaction(server.db, {}, (tx) => lockStoryAndTurn(tx, storyId, turnId)).finally(() => {
        settled = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(settled).toBe(false);
      await other.query('COMMIT');
      expect(await locked).toEqual({ story: { status: 'active', headSceneId: null }, turn: { status: 'generating', leaseOwner: 'second-process' } });
    } finally {
      await other.end();
    }
  });

  it('tells a missing turn from a missing story', async () => {
    const { rows } = await server.db.query<{ id: string }>(`INSERT INTO stories (title, setting) VALUES ('No turn', 'A harbour') RETURNING id`);
    const lock = (storyId: string) => withTransaction(server.db, {}, (tx) => lockStoryAndTurn(tx, storyId, '00000000-0000-4000-8000-000000000000'));
    expect(await lock(rows[0]!.id)).toEqual({ story: { status: 'active', headSceneId: null } });
    await expect(lock('00000000-0000-4000-8000-000000000001')).rejects.toMatchObject({ code: 'not_found' });
  });
});
