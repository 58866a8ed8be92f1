/**
 * `npm run bench`: runs every benchmark module in its own child process, one after another
 * (so that one module's PGlite, pools and JIT state never colour the next one's figures),
 * then writes bench/results/README.md from the JSON files they wrote.
 *
 *   BENCH_QUICK=1 npm run bench     smoke run: small loops, indicative figures only
 *   BENCH_ONLY=retrieval,http       run only these modules (the report still covers all)
 *   BENCH_ONLY=offline-quality      only the offline storyteller's prose quality (about 2 minutes)
 *   BENCH_DATABASE_URL=postgres://… server for the PostgreSQL figures (default 127.0.0.1:5432)
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { resultsDir } from './lib.js';
import { quick } from './support/bench-options.js';
import { writeReport, type RunRecord } from './write-report.js';

interface ModuleSpec {
  name: string;
  args?: string[];
  env?: Record<string, string>;
  /** Hard stop for one module; the full run is meant to stay under about 15 minutes. */
  timeoutMinutes: number;
}

const modules: ModuleSpec[] = [
  { name: 'first-start', args: ['--runs', quick ? '2' : '5'], timeoutMinutes: 6 },
  { name: 'db-transaction', env: quick ? { BENCH_RUNS: '200' } : {}, timeoutMinutes: 5 },
  { name: 'offline-embedder', args: ['--runs', quick ? '3' : '7'], timeoutMinutes: 5 },
  { name: 'turn-overhead', timeoutMinutes: 8 },
  { name: 'world-scale', env: quick ? { BENCH_WORLD_SCENES: '400' } : {}, timeoutMinutes: 12 },
  { name: 'single-flight', timeoutMinutes: 5 },
  { name: 'throughput', timeoutMinutes: 8 },
  { name: 'calls-per-turn', timeoutMinutes: 5 },
  { name: 'retrieval', timeoutMinutes: 14 },
  { name: 'http', timeoutMinutes: 8 },
  { name: 'offline-quality', env: quick ? { BENCH_TURNS: '12' } : {}, timeoutMinutes: 8 },
  { name: 'token-estimate', timeoutMinutes: 3 },
  { name: 'background-work', env: quick ? { BENCH_SCENES: '40' } : {}, timeoutMinutes: 8 },
];

function runModule(spec: ModuleSpec): Promise<{ exitCode: number | null; seconds: number; timedOut: boolean }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', path.resolve('bench', `${spec.name}.ts`), ...(spec.args ?? [])], {
      env: { ...process.env, ...spec.env },
      stdio: 'inherit',
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, spec.timeoutMinutes * 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ exitCode: code, seconds: Math.round((performance.now() - started) / 100) / 10, timedOut });
    });
  });
}

function gitDescription(): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'migrations'], { encoding: 'utf8' }).trim() !== '';
    return { commit, dirty };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}

async function main(): Promise<void> {
  const only = (process.env['BENCH_ONLY'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const selected = only.length > 0 ? modules.filter((m) => only.includes(m.name)) : modules;
  console.log(`LivingWorld benchmarks — ${quick ? 'QUICK (BENCH_QUICK=1: small loops, indicative only)' : 'full run'}; modules: ${selected.map((m) => m.name).join(', ')}`);
  console.log(`PostgreSQL: ${process.env['BENCH_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres'}; results in ${resultsDir}\n`);
  fs.mkdirSync(resultsDir, { recursive: true });
  const runFile = path.join(resultsDir, 'run.json');
  const previous: RunRecord | undefined = fs.existsSync(runFile) ? (JSON.parse(fs.readFileSync(runFile, 'utf8')) as RunRecord) : undefined;
  const record: RunRecord = {
    mode: quick ? 'quick' : 'full',
    startedAt: new Date().toISOString(),
    ...gitDescription(),
    modules: {},
  };
  // A partial run (BENCH_ONLY) keeps the previous run's date and the other modules' records.
  if (only.length > 0 && previous) {
    record.modules = { ...previous.modules };
    record.startedAt = previous.startedAt;
    record.mode = previous.mode;
    record.rerun = { at: new Date().toISOString(), modules: selected.map((m) => m.name), mode: quick ? 'quick' : 'full' };
  }
  for (const spec of selected) {
    console.log(`\n=== ${spec.name} ===`);
    const outcome = await runModule(spec);
    record.modules[spec.name] = { ...outcome, finishedAt: new Date().toISOString() };
    if (outcome.exitCode !== 0) console.log(`!!! ${spec.name} ${outcome.timedOut ? `timed out after ${spec.timeoutMinutes} min` : `exited with ${outcome.exitCode}`}`);
  }
  record.totalSeconds = Math.round(Object.values(record.modules).reduce((sum, run) => sum + run.seconds, 0));
  fs.writeFileSync(runFile, `${JSON.stringify(record, null, 2)}\n`);
  writeReport(record);
  console.log(`\nAll done in ${record.totalSeconds} s; report: ${path.join(resultsDir, 'README.md')}`);
  const failed = selected.filter((m) => record.modules[m.name]?.exitCode !== 0);
  if (failed.length > 0) {
    console.log(`Failed: ${failed.map((m) => m.name).join(', ')} (see above; the report says so too)`);
    process.exitCode = 1;
  }
}

await main();
