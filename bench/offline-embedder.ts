/**
 * Start-up cost of the offline embedder: each run loads the vocabulary in a fresh child
 * process (so the per-process cache cannot help) and reports load time and memory growth;
 * the medians are checked against the budget (300 ms, 150 MB) and written to
 * bench/results/offline-embedder.json.
 *
 *   npx tsx bench/offline-embedder.ts [--runs 7]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const LOAD_BUDGET_MS = 300;
const MEMORY_BUDGET_MB = 150;
const MB = 1024 * 1024;

interface RunMeasurement {
  /** Importing the embedder module (includes tsx's transform here; compiled JS is faster). */
  importMs: number;
  /** createOfflineEmbedder(): reading and indexing the vocabulary. */
  loadMs: number;
  /** Resident set growth from before the import to after the load, after a GC. */
  rssDeltaMb: number;
  /** Growth again after embedding the sample sentences. */
  rssDeltaAfterEmbedMb: number;
  embedMicrosPerText: number;
}

const SAMPLE_TEXTS = Array.from({ length: 1000 }, (_, i) =>
  [
    'The fisherman mended his nets while the rain fell on the harbour.',
    'Hanna bought bread, cheese and apples at the Tuesday market.',
    'A letter from the capital arrived two days after the storm.',
    'The ship left at dawn with barrels of wine below the deck.',
  ][i % 4]! + ` (${i})`,
);

function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function measureOneLoad(): Promise<RunMeasurement> {
  collectGarbage();
  const rssBefore = process.memoryUsage().rss;
  const importStart = performance.now();
  const { createOfflineEmbedder } = await import('../src/memory/embedders/offline.js');
  const loadStart = performance.now();
  const embedder = await createOfflineEmbedder();
  const loadEnd = performance.now();
  collectGarbage();
  const rssAfterLoad = process.memoryUsage().rss;

  const embedStart = performance.now();
  await embedder.embed(SAMPLE_TEXTS);
  const embedEnd = performance.now();
  collectGarbage();
  const rssAfterEmbed = process.memoryUsage().rss;

  return {
    importMs: loadStart - importStart,
    loadMs: loadEnd - loadStart,
    rssDeltaMb: (rssAfterLoad - rssBefore) / MB,
    rssDeltaAfterEmbedMb: (rssAfterEmbed - rssBefore) / MB,
    embedMicrosPerText: ((embedEnd - embedStart) * 1000) / SAMPLE_TEXTS.length,
  };
}

function runInFreshProcess(): RunMeasurement {
  const output = execFileSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--child'],
    { encoding: 'utf8' },
  );
  return JSON.parse(output) as RunMeasurement;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function round(value: number, digits = 1): number {
  return Number(value.toFixed(digits));
}

function summarise(runs: RunMeasurement[]) {
  const keys = ['importMs', 'loadMs', 'rssDeltaMb', 'rssDeltaAfterEmbedMb', 'embedMicrosPerText'] as const;
  return Object.fromEntries(
    keys.map((key) => {
      const values = runs.map((run) => run[key]);
      return [key, { median: round(median(values)), min: round(Math.min(...values)), max: round(Math.max(...values)) }];
    }),
  ) as Record<(typeof keys)[number], { median: number; min: number; max: number }>;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { child: { type: 'boolean' }, runs: { type: 'string', default: '7' } } });
  if (values.child) {
    process.stdout.write(JSON.stringify(await measureOneLoad()));
    return;
  }

  const runs = Array.from({ length: Number(values.runs) }, runInFreshProcess);
  const summary = summarise(runs);
  const startupMs = summary.importMs.median + summary.loadMs.median;
  const result = {
    benchmark: 'offline-embedder',
    date: new Date().toISOString(),
    machine: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown' },
    runs: runs.length,
    budget: { startupMs: LOAD_BUDGET_MS, memoryMb: MEMORY_BUDGET_MB },
    summary,
    withinBudget: startupMs <= LOAD_BUDGET_MS && summary.rssDeltaAfterEmbedMb.median <= MEMORY_BUDGET_MB,
    samples: runs.map((run) => Object.fromEntries(Object.entries(run).map(([key, value]) => [key, round(value, 2)]))),
  };

  const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(`${resultsDir}offline-embedder.json`, JSON.stringify(result, null, 2) + '\n');

  console.log(`offline embedder, ${runs.length} fresh processes (median [min–max])`);
  for (const [key, stats] of Object.entries(summary)) {
    console.log(`  ${key.padEnd(22)} ${String(stats.median).padStart(8)}  [${stats.min}–${stats.max}]`);
  }
  console.log(`  start-up ${round(startupMs)} ms of ${LOAD_BUDGET_MS}, memory ${summary.rssDeltaAfterEmbedMb.median} MB of ${MEMORY_BUDGET_MB}: ${result.withinBudget ? 'within budget' : 'OVER BUDGET'}`);
}

await main();
