/**
 * Where a turn's time goes at scale on embedded PGlite: each statement of takeTurn timed, for
 * a long and a short branchy story, the slowest statements printed by their total.
 *
 *   npx tsx bench/profile-world-turn.ts    (BENCH_WORLD_SCENES=2000, BENCH_PROFILE_TURNS=8)
 */
import { createOfflineProvider } from '../src/llm/providers/offline.js';
import { takeTurn } from '../src/story/take-turn.js';
import { envNumber } from './support/bench-options.js';
import { openBenchEmbeddedDatabase, openBenchServerDatabase } from './support/bench-databases.js';
import { createBenchEngine, loadOfflineEmbedder } from './support/bench-engine.js';
import { createBranchyStory, embedEverything, type BranchyStory } from './support/branchy-story.js';
import { profileDatabase } from './support/profiled-database.js';

const longScenes = envNumber('BENCH_WORLD_SCENES', 2000);
const turnsPerStory = envNumber('BENCH_PROFILE_TURNS', 8);

const backend = process.env.PROFILE_SERVER ? await openBenchServerDatabase({ poolSize: 4 }) : await openBenchEmbeddedDatabase();
try {
  const embedder = await loadOfflineEmbedder();
  const long = await createBranchyStory(backend.db, embedder, { scenes: longScenes, characters: 50, seed: 3 });
  const short = await createBranchyStory(backend.db, embedder, { scenes: 20, characters: 50, seed: 4 });
  await embedEverything(backend.db, embedder);
  if (process.env.PROFILE_ANALYZE) await backend.db.query('ANALYZE');
  const label = (sql: string) => sql.replace(/\s+/g, ' ').trim().slice(0, 200);
  const profiled = profileDatabase(backend.db, label);
  const deps = createBenchEngine(profiled, createOfflineProvider({ seed: 11, latencyMs: 0 }), embedder);
  const run = async (story: BranchyStory, turns: number) => {
    profiled.reset();
    const started = performance.now();
    for (let i = 0; i < turns; i++) await takeTurn(deps, { storyId: story.storyId, kind: 'advance', choiceNumber: 1 + (i % 3) });
    const wall = (performance.now() - started) / turns;
    return { wall, totals: new Map(profiled.totals), counts: new Map(profiled.counts) };
  };
  await run(long, 2);
  await run(short, 2);
  const l = await run(long, turnsPerStory);
  const s = await run(short, turnsPerStory);
  console.log(`per turn: long ${l.wall.toFixed(1)} ms, short ${s.wall.toFixed(1)} ms`);
  const rows = [...l.totals.entries()].map(([sql, ms]) => ({ sql, long: ms / turnsPerStory, short: (s.totals.get(sql) ?? 0) / turnsPerStory, n: (l.counts.get(sql) ?? 0) / turnsPerStory }));
  rows.sort((a, b) => b.long - b.short - (a.long - a.short));
  for (const row of rows.slice(0, 25)) console.log(`${row.long.toFixed(2).padStart(8)} ${row.short.toFixed(2).padStart(8)} ×${row.n.toFixed(1)}  ${row.sql}`);
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0) / turnsPerStory;
  // Each read of one turn at the long story alone, planned and timed by the database (no queueing).
  const captured: { sql: string; params: readonly unknown[] }[] = [];
  const capturing = { ...profiled, query: ((sql: string, params?: readonly unknown[]) => { if (/^\s*(SELECT|WITH)/i.test(sql) && !/INSERT|UPDATE|DELETE|pg_notify/i.test(sql)) captured.push({ sql, params: params ?? [] }); return profiled.query(sql, params as unknown[]); }) as typeof profiled.query } as typeof profiled;
  const deps2 = createBenchEngine(capturing, createOfflineProvider({ seed: 11, latencyMs: 0 }), embedder);
  for (const story of [long, short]) {
    captured.length = 0;
    await takeTurn(deps2, { storyId: story.storyId, kind: 'advance', choiceNumber: 1 });
    const plans: { ms: number; sql: string; plan: string }[] = [];
    for (const c of captured) {
      const { rows } = await backend.db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS OFF) ${c.sql}`, c.params as unknown[]);
      const text = rows.map((r) => r['QUERY PLAN']).join('\n');
      const execution = Number(/Execution Time: ([\d.]+)/.exec(text)?.[1] ?? 0);
      let ms = Infinity; // the statement run alone, as the client sees it: planning, parameters and rows included
      for (let k = 0; k < 3; k++) {
        const started = performance.now();
        await backend.db.query(c.sql, c.params as unknown[]);
        ms = Math.min(ms, performance.now() - started);
      }
      plans.push({ ms, sql: `(exec ${execution.toFixed(2)}) ${label(c.sql)}`, plan: text });
    }
    plans.sort((a, b) => b.ms - a.ms);
    console.log(`\n=== ${story === long ? 'long' : 'short'}: ${captured.length} reads, round trips alone ${plans.reduce((a, p) => a + p.ms, 0).toFixed(1)} ms`);
    for (const p of plans.slice(0, 8)) console.log(`${p.ms.toFixed(2).padStart(8)}  ${p.sql}`);
    if (process.env.PROFILE_PLANS) for (const p of plans.slice(0, 6)) console.log(`\n--- ${p.ms} ${p.sql}\n${p.plan}`);
  }
  console.log(`statement time per turn: long ${sum(l.totals).toFixed(1)} ms, short ${sum(s.totals).toFixed(1)} ms`);
} finally {
  await backend.dispose();
}
