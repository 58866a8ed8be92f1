/**
 * Engine overhead per turn with no model time: takeTurn with the offline storyteller at 0 ms
 * latency, on embedded PGlite and on server PostgreSQL, against "the bare two-transaction
 * protocol" measured in the same run on the same database: a hand-written claim transaction
 * (lock story, insert generating turn) and commit transaction (lock story, insert scene and
 * choices, move head, finish turn) in raw SQL, no context, no embeddings, no characters.
 * Engine and bare blocks of one story (20 turns) alternate so that drift hits both alike.
 *
 * The engine time is also split: context building (buildTurnContext called on its own just
 * before each turn, same head and query), embedding (time inside the embedder during the turn),
 * character writes (statements on character tables inside the commit transaction) and the
 * offline storyteller's own CPU time (the "model", which the overhead excludes).
 *
 *   npx tsx bench/turn-overhead.ts        (BENCH_TURNS=200, BENCH_QUICK=1 for 40)
 */
import pg from 'pg';
import type { Database, DbConnection } from '../src/db/index.js';
import { createOfflineProvider } from '../src/llm/providers/offline.js';
import { buildTurnContext } from '../src/memory/build-turn-context.js';
import { createStory } from '../src/story/create-story.js';
import { takeTurn } from '../src/story/take-turn.js';
import type { SceneView } from '../src/story/scene-view.js';
import { summarise, writeResult } from './lib.js';
import { envNumber, median, ratio, round, sized } from './support/bench-options.js';
import { measureOnBothBackends, type BenchDatabase } from './support/bench-databases.js';
import { createBenchEngine, loadOfflineEmbedder } from './support/bench-engine.js';
import { profileDatabase } from './support/profiled-database.js';
import { timeEmbedder, timeProvider, type Stopwatch } from './support/timed-parts.js';

const turnsPerStory = 20;
const totalTurns = envNumber('BENCH_TURNS', sized(200, 40));
const storyCount = Math.max(1, Math.round(totalTurns / turnsPerStory));

/** Statements that create or update characters, their links, memories, states and relationships. */
const characterWrite = /\b(characters|scene_characters|character_memories|character_states|relationship_states|world_events)\b|lw_name_key/;

/** Statements (round trips) of the bare protocol per turn: BEGIN, lock, insert turn, COMMIT; BEGIN, lock, scene, choices, head, turn, COMMIT. */
const bareStatementsPerTurn = 11;

/** The minimal protocol on one connection: what any correct implementation must at least do. */
interface BareConnection {
  query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  release(): void;
}

type AcquireBare = () => Promise<BareConnection>;

async function bareTransaction<T>(acquire: AcquireBare, fn: (c: BareConnection) => Promise<T>): Promise<T> {
  const c = await acquire();
  try {
    await c.query('BEGIN');
    const result = await fn(c);
    await c.query('COMMIT');
    return result;
  } catch (error) {
    await c.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    c.release();
  }
}

interface BareStory {
  id: string;
  headSceneId: string | null;
  headSceneNumber: number;
}

async function bareTurn(acquire: AcquireBare, story: BareStory, content: string, choices: string[]): Promise<void> {
  const kind = story.headSceneId === null ? 'open' : 'advance';
  const choiceNumber = kind === 'open' ? null : 1;
  const turnId = await bareTransaction(acquire, async (c) => {
    await c.query('SELECT id, head_scene_id, version FROM stories WHERE id = $1 FOR UPDATE', [story.id]);
    const { rows } = await c.query(
      `INSERT INTO turns (story_id, kind, from_scene_id, choice_number, request_hash, status, lease_owner, lease_expires_at)
       VALUES ($1, $2, $3, $4, 'bare', 'generating', 'bare', now() + interval '30 seconds') RETURNING id`,
      [story.id, kind, story.headSceneId, choiceNumber],
    );
    return rows[0]!['id'] as string;
  });
  const parentNumber = story.headSceneId === null ? null : story.headSceneNumber;
  const sceneId = await bareTransaction(acquire, async (c) => {
    await c.query('SELECT id, head_scene_id, version FROM stories WHERE id = $1 FOR UPDATE', [story.id]);
    const { rows } = await c.query(
      `INSERT INTO scenes (story_id, parent_scene_id, parent_scene_number, scene_number, turn_id, choice_number, content)
       VALUES ($1, $2, $3::int, COALESCE($3::int, 0) + 1, $4, $5, $6) RETURNING id`,
      [story.id, story.headSceneId, parentNumber, turnId, choiceNumber, content],
    );
    const id = rows[0]!['id'] as string;
    await c.query(
      `INSERT INTO choices (story_id, scene_id, choice_number, content)
       SELECT $1, $2, ordinality, content FROM unnest($3::text[]) WITH ORDINALITY AS t(content, ordinality)`,
      [story.id, id, choices],
    );
    await c.query('UPDATE stories SET head_scene_id = $2, version = version + 1, updated_at = now() WHERE id = $1', [story.id, id]);
    await c.query(
      `UPDATE turns SET status = 'succeeded', scene_id = $3, lease_owner = NULL, lease_expires_at = NULL, finished_at = now()
        WHERE story_id = $1 AND id = $2`,
      [story.id, turnId, id],
    );
    return id;
  });
  story.headSceneId = sceneId;
  story.headSceneNumber += 1;
}

/** Bare access: a pg client of its own on the server; the single PGlite connection, taken in turn, embedded. */
function bareAccess(backend: BenchDatabase): { acquire: AcquireBare; close: () => Promise<void> } {
  if (backend.url) {
    const pool = new pg.Pool({ connectionString: backend.url, max: 1 });
    return {
      acquire: async () => {
        const client = await pool.connect();
        return { query: (sql, params) => client.query(sql, params), release: () => client.release() };
      },
      close: () => pool.end(),
    };
  }
  return {
    acquire: async () => {
      const connection: DbConnection = await backend.db.acquire();
      return { query: (sql, params) => connection.query(sql, params), release: () => connection.release() };
    },
    close: async () => {},
  };
}

interface TurnSample {
  turnMs: number;
  /** Statements sent per turn: in a transaction, and outside any. */
  statementsInTransactions: number;
  statementsOutside: number;
  modelMs: number;
  embedMs: number;
  characterWriteMs: number;
  contextMs: number;
}

async function measureBackend(name: 'embedded' | 'server', backend: BenchDatabase) {
  const modelWatch: Stopwatch = { ms: 0, calls: 0 };
  const embedWatch: Stopwatch = { ms: 0, calls: 0 };
  const db: Database = backend.db;
  const profiled = profileDatabase(db, (sql, inTransaction) => (inTransaction ? (characterWrite.test(sql) ? 'characterWrites' : 'transaction') : 'outside'));
  const embedder = timeEmbedder(await loadOfflineEmbedder(), embedWatch);
  const provider = timeProvider(createOfflineProvider({ seed: 11, latencyMs: 0 }), modelWatch);
  const deps = createBenchEngine(profiled, provider, embedder);
  const bare = bareAccess(backend);

  // Warm-up: a story of a few turns each way (JIT, plan caches, embedder vocabulary).
  const warm = await createStory(deps, { title: 'Warm-up', setting: 'A fishing village on a cold northern coast.' });
  let sample: SceneView = warm.opening.scene;
  for (let i = 0; i < 5; i++) sample = (await takeTurn(deps, { storyId: warm.story.id, kind: 'advance', choiceNumber: 1 })).scene;
  const bareContent = sample.content;
  const bareChoices = sample.choices.map((choice) => choice.content);
  const newBareStory = async (): Promise<BareStory> => {
    const { rows } = await db.query<{ id: string }>(`INSERT INTO stories (title, setting) VALUES ('Bare', 'A fishing village.') RETURNING id`);
    const story = { id: rows[0]!.id, headSceneId: null, headSceneNumber: 0 };
    await bareTurn(bare.acquire, story, bareContent, bareChoices);
    return story;
  };
  const warmBare = await newBareStory();
  for (let i = 0; i < 5; i++) await bareTurn(bare.acquire, warmBare, bareContent, bareChoices);

  const engineSamples: TurnSample[] = [];
  const bareSamples: number[] = [];
  for (let block = 0; block < storyCount; block++) {
    const created = await createStory(deps, { title: `Overhead ${block}`, setting: 'A fishing village on a cold northern coast, in the year of the long winter.' });
    let head = created.opening.scene;
    for (let turn = 0; turn < turnsPerStory; turn++) {
      const choiceNumber = (turn % 3) + 1;
      const chosen = head.choices.find((choice) => choice.number === choiceNumber)?.content ?? '';
      let started = performance.now();
      await buildTurnContext(db, embedder, { storyId: created.story.id, headSceneId: head.id, queryText: chosen });
      const contextMs = performance.now() - started;
      modelWatch.ms = 0;
      embedWatch.ms = 0;
      profiled.reset();
      started = performance.now();
      head = (await takeTurn(deps, { storyId: created.story.id, kind: 'advance', choiceNumber })).scene;
      const turnMs = performance.now() - started;
      const counted = (category: string) => profiled.counts.get(category) ?? 0;
      engineSamples.push({
        turnMs,
        statementsInTransactions: counted('characterWrites') + counted('transaction'),
        statementsOutside: counted('outside'),
        modelMs: modelWatch.ms,
        embedMs: embedWatch.ms,
        characterWriteMs: profiled.totals.get('characterWrites') ?? 0,
        contextMs,
      });
    }
    const bareStory = await newBareStory();
    for (let turn = 0; turn < turnsPerStory; turn++) {
      const started = performance.now();
      await bareTurn(bare.acquire, bareStory, bareContent, bareChoices);
      bareSamples.push(performance.now() - started);
    }
  }
  await bare.close();

  const engine = summarise(engineSamples.map((s) => s.turnMs));
  const engineWithoutModel = summarise(engineSamples.map((s) => s.turnMs - s.modelMs));
  const barePlain = summarise(bareSamples);
  const part = (key: keyof TurnSample) => round(median(engineSamples.map((s) => s[key])), 3);
  const breakdownP50 = {
    contextBuildingMs: part('contextMs'),
    embeddingMs: part('embedMs'),
    characterWritesMs: part('characterWriteMs'),
    offlineStorytellerMs: part('modelMs'),
  };
  const result = {
    backend: name,
    turns: engineSamples.length,
    engineMs: engine,
    engineWithoutModelMs: engineWithoutModel,
    bareProtocolMs: barePlain,
    ratioP50: ratio(engineWithoutModel.p50, barePlain.p50),
    ratioP95: ratio(engineWithoutModel.p95, barePlain.p95),
    breakdownP50,
    statementsPerTurnP50: {
      engineInTransactions: part('statementsInTransactions'),
      engineOutsideTransactions: part('statementsOutside'),
      engine: part('statementsInTransactions') + part('statementsOutside'),
      bare: bareStatementsPerTurn,
    },
    shareOfEngineP50: Object.fromEntries(
      Object.entries(breakdownP50).map(([key, value]) => [key, ratio(value, engineWithoutModel.p50)]),
    ),
  };
  console.log(
    `${name.padEnd(8)} engine (no model) p50 ${engineWithoutModel.p50} ms p95 ${engineWithoutModel.p95} ms | bare p50 ${barePlain.p50} ms p95 ${barePlain.p95} ms | ratio p50 ${result.ratioP50} p95 ${result.ratioP95}`,
  );
  console.log(`         p50 parts: ${JSON.stringify(breakdownP50)}; statements per turn ${JSON.stringify(result.statementsPerTurnP50)}`);
  return result;
}

async function main(): Promise<void> {
  console.log(`turn overhead: ${storyCount} stories × ${turnsPerStory} turns per backend, offline storyteller at 0 ms, vs the bare two-transaction protocol`);
  const results = await measureOnBothBackends(measureBackend);
  writeResult('turn-overhead', {
    benchmark: 'turn-overhead',
    turnsPerStory,
    results,
    method:
      'takeTurn (advance) timed end to end; "without model" subtracts the time spent inside the offline storyteller. Bare protocol: raw SQL claim tx + commit tx on one connection, same database, interleaved per story. Context building is buildTurnContext called alone just before each turn (same head, same query); embedding is time inside the embedder during the turn; character writes are statements on character tables (states, relationships, world events included) inside the commit transaction. Statements per turn: every query and exec the engine sends during takeTurn (BEGIN/COMMIT included), counted by a wrapper around the Database; the bare protocol sends 11.',
  });
}

await main();
