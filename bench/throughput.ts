/**
 * Throughput: turns per second across many stories with C concurrent clients and model
 * latency L, on server PostgreSQL with the engine in process (four engine instances, one
 * pg pool). For L > 0 the ideal is C / L turns per second (each client waits only for the
 * model); the ratio measured / ideal shows what the engine and the database cost on top.
 * Clients walk a shared cursor over the stories, so no two clients ever play the same story
 * at once and every turn is a real, uncontested turn.
 *
 *   npx tsx bench/throughput.ts     (BENCH_STORIES=1000, BENCH_CELL_SECONDS=8)
 */
import { isAppError } from '../src/errors.js';
import { createOfflineProvider } from '../src/llm/providers/offline.js';
import { createStory } from '../src/story/create-story.js';
import { takeTurn } from '../src/story/take-turn.js';
import type { EngineDeps } from '../src/story/engine-deps.js';
import { summarise, writeResult } from './lib.js';
import { envNumber, ratio, round, sized } from './support/bench-options.js';
import { openBenchServerDatabase } from './support/bench-databases.js';
import { createBenchEngine, loadOfflineEmbedder } from './support/bench-engine.js';
import { watchMachineCpu } from './support/machine-cpu.js';

const storyCount = envNumber('BENCH_STORIES', sized(1000, 100));
const cellSeconds = envNumber('BENCH_CELL_SECONDS', sized(8, 2));
const clientCounts = [1, 10, 50];
const latenciesMs = [0, 200];
const engineInstances = 4;
const poolSize = 20;

interface Cell {
  clients: number;
  modelLatencyMs: number;
  turns: number;
  errors: Record<string, number>;
  seconds: number;
  turnsPerSecond: number;
  idealTurnsPerSecond: number | null;
  ofIdeal: number | null;
  turnLatencyMs: ReturnType<typeof summarise>;
  nodeCpuPercent: number;
  machineCpuBusyPercent: number;
}

async function runCell(engines: EngineDeps[], storyIds: string[], clients: number, modelLatencyMs: number): Promise<Omit<Cell, 'ofIdeal' | 'idealTurnsPerSecond'>> {
  let cursor = Math.floor(Math.random() * storyIds.length);
  const inUse = new Set<string>();
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const cpuBefore = process.cpuUsage();
  const machineCpu = watchMachineCpu();
  const started = performance.now();
  const deadline = started + cellSeconds * 1000;
  const client = async (k: number) => {
    // Bounded: each pass takes at least one turn or one error, and stops at the deadline.
    while (performance.now() < deadline) {
      let storyId = storyIds[cursor++ % storyIds.length]!;
      while (inUse.has(storyId)) storyId = storyIds[cursor++ % storyIds.length]!;
      inUse.add(storyId);
      const turnStarted = performance.now();
      try {
        await takeTurn(engines[k % engines.length]!, { storyId, kind: 'advance', choiceNumber: 1 + (cursor % 3) });
        latencies.push(performance.now() - turnStarted);
      } catch (error) {
        const code = isAppError(error) ? error.code : 'internal';
        errors[code] = (errors[code] ?? 0) + 1;
      } finally {
        inUse.delete(storyId);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, k) => client(k)));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    // Where the time goes on 2 cores: 100 = one core busy with this Node process.
    nodeCpuPercent: round(((cpu.user + cpu.system) / 1e6 / seconds) * 100, 0),
    machineCpuBusyPercent: machineCpu(),
    clients,
    modelLatencyMs,
    turns: latencies.length,
    errors,
    seconds: round(seconds, 2),
    turnsPerSecond: round(latencies.length / seconds, 1),
    turnLatencyMs: summarise(latencies),
  };
}

async function createStories(engine: EngineDeps & { defaultSeed: number }, count: number): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      const { story } = await createStory(engine, { title: `Throughput ${n}`, setting: 'A river port where smugglers and tax men share one tavern.', seed: n });
      ids.push(story.id);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return ids;
}

async function main(): Promise<void> {
  console.log(
    `throughput: ${storyCount} stories, clients ${clientCounts.join('/')}, model latency ${latenciesMs.join('/')} ms, ${cellSeconds} s per cell, server PostgreSQL, ${engineInstances} engines on one pool of ${poolSize}`,
  );
  const server = await openBenchServerDatabase({ poolSize });
  try {
    const embedder = await loadOfflineEmbedder();
    const setupStarted = performance.now();
    const storyIds = await createStories(createBenchEngine(server.db, createOfflineProvider({ seed: 3 }), embedder), storyCount);
    console.log(`  created ${storyIds.length} stories with opening scenes in ${round((performance.now() - setupStarted) / 1000, 1)} s`);
    const cells: Cell[] = [];
    for (const modelLatencyMs of latenciesMs) {
      const provider = createOfflineProvider({ seed: 5, latencyMs: modelLatencyMs });
      const engines = Array.from({ length: engineInstances }, (_, i) => createBenchEngine(server.db, provider, embedder, { instanceId: `bench-tp-${i}` }));
      for (const clients of clientCounts) {
        const cell = await runCell(engines, storyIds, clients, modelLatencyMs);
        const ideal = modelLatencyMs > 0 ? clients / (modelLatencyMs / 1000) : null;
        const full: Cell = { ...cell, idealTurnsPerSecond: ideal, ofIdeal: ideal === null ? null : ratio(cell.turnsPerSecond, ideal) };
        cells.push(full);
        console.log(
          `  C=${String(clients).padStart(2)} L=${String(modelLatencyMs).padStart(3)} ms: ${full.turnsPerSecond} turns/s${ideal === null ? '' : ` (ideal ${ideal}, ${full.ofIdeal} of it)`}, turn p50 ${full.turnLatencyMs.p50} ms p95 ${full.turnLatencyMs.p95} ms, node CPU ${full.nodeCpuPercent}%, machine ${full.machineCpuBusyPercent}% busy, errors ${JSON.stringify(full.errors)}`,
        );
      }
    }
    const single = cells.find((c) => c.clients === 1 && c.modelLatencyMs === 0)!;
    writeResult('throughput', {
      benchmark: 'throughput',
      storyCount,
      cellSeconds,
      engineInstances,
      poolSize,
      cells: cells.map((c) => ({ ...c, vsOneClientSameLatency: ratio(c.turnsPerSecond, cells.find((o) => o.clients === 1 && o.modelLatencyMs === c.modelLatencyMs)!.turnsPerSecond) })),
      baselineOneClientNoLatency: single.turnsPerSecond,
      method:
        'C async clients in one Node process; each takes the next free story from a shared cursor and calls takeTurn (advance) until the cell deadline; turns/s = completed turns / time until the last in-flight turn ended. Model: the offline storyteller with latencyMs = L (sleeps, no CPU). Ideal for L > 0: C / L.',
    });
  } finally {
    await server.dispose();
  }
}

await main();
