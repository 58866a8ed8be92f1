/**
 * First start: `livingworld list` on a new data directory and on an existing one, as a person
 * runs it (the built CLI in a fresh process): wall time, CPU time and the process's peak RSS;
 * and the interactive menu on the existing one, until it asks its first question. Baselines in
 * the same run: a bare `node` start, importing PGlite, PGlite alone opening the same data
 * directory (with V8's default compilation and with Liftoff only, as one-shot commands run it),
 * and a new data directory made the old way (initdb plus every migration, the template switched
 * off by pointing at a missing one). Other sessions may load the machine: the load average at
 * the start and end of the run is recorded beside the figures.
 *
 *   npx tsx bench/first-start.ts [--runs N]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeResult } from './lib.js';
import { median, quick, runsArgument } from './support/bench-options.js';

const cli = path.resolve('dist/bin/livingworld.js');
const usagePreload = path.resolve('bench/support/report-peak-rss.mjs');
const pgliteAlone = path.resolve('bench/support/open-with-pglite.mjs');

interface ProcessRun {
  wallMs: number;
  cpuMs: number;
  peakRssMb: number;
}

/**
 * Runs one process; its peak RSS and CPU time come from the preload, which writes them when the
 * process exits. `until`, when given, is a text on stdout: the wall time is taken when it
 * appears, and stdin is closed then (the interactive menu quits on end of input).
 */
function runProcess(args: string[], env: Record<string, string>, until?: string): Promise<ProcessRun> {
  const usageFile = path.join(os.tmpdir(), `lw-bench-rss-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, ['--import', usagePreload, ...args], {
      env: { ...process.env, ...env, LW_BENCH_RSS_FILE: usageFile, LLM_PROVIDER: 'offline' },
      stdio: [until ? 'pipe' : 'ignore', until ? 'pipe' : 'ignore', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    let wallMs: number | undefined;
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (wallMs === undefined && until && stdout.includes(until)) {
        wallMs = performance.now() - started;
        child.stdin!.end();
      }
    });
    child.on('exit', (code) => {
      wallMs ??= performance.now() - started;
      if (code !== 0) return reject(new Error(`${args.join(' ')} exited with ${code}: ${stderr}`));
      if (until && !stdout.includes(until)) return reject(new Error(`${args.join(' ')} never printed ${until}: ${stdout}`));
      const usage = JSON.parse(fs.readFileSync(usageFile, 'utf8')) as { maxRssKb: number; cpuMs: number };
      fs.rmSync(usageFile, { force: true });
      resolve({ wallMs, cpuMs: usage.cpuMs, peakRssMb: usage.maxRssKb / 1024 });
    });
  });
}

function summariseRuns(runs: ProcessRun[]): { wallMs: number; cpuMs: number; peakRssMb: number; n: number } {
  return {
    n: runs.length,
    wallMs: Math.round(median(runs.map((r) => r.wallMs))),
    cpuMs: Math.round(median(runs.map((r) => r.cpuMs))),
    peakRssMb: Math.round(median(runs.map((r) => r.peakRssMb))),
  };
}

const loadAverage = () => os.loadavg().map((value) => Math.round(value * 100) / 100);

async function main(): Promise<void> {
  if (!fs.existsSync(cli)) throw new Error('Run `npm run build` first: the bench times the built CLI.');
  const runs = runsArgument(process.argv.slice(2), quick ? 2 : 5);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-bench-first-start-'));
  const loadAtStart = loadAverage();
  const bareNode: ProcessRun[] = [];
  const pgliteImport: ProcessRun[] = [];
  const pgliteReopen: ProcessRun[] = [];
  const pgliteReopenLiftoff: ProcessRun[] = [];
  const newDir: ProcessRun[] = [];
  const reopen: ProcessRun[] = [];
  const menuReopen: ProcessRun[] = [];
  const withoutTemplate: ProcessRun[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      bareNode.push(await runProcess(['-e', '0'], {}));
      pgliteImport.push(await runProcess(['--input-type=module', '-e', "await import('@electric-sql/pglite'); await import('@electric-sql/pglite-pgvector');"], {}));
      const dataDir = path.join(root, `new-${i}`);
      newDir.push(await runProcess([cli, 'list'], { LIVINGWORLD_DATA_DIR: dataDir }));
      reopen.push(await runProcess([cli, 'list'], { LIVINGWORLD_DATA_DIR: dataDir }));
      menuReopen.push(await runProcess([cli], { LIVINGWORLD_DATA_DIR: dataDir }, 'Choose'));
      pgliteReopen.push(await runProcess([pgliteAlone, path.join(dataDir, 'pgdata')], {}));
      pgliteReopenLiftoff.push(await runProcess(['--liftoff-only', pgliteAlone, path.join(dataDir, 'pgdata')], {}));
      console.log(`run ${i + 1}/${runs}: new ${Math.round(newDir.at(-1)!.wallMs)} ms, reopen ${Math.round(reopen.at(-1)!.wallMs)} ms, menu ${Math.round(menuReopen.at(-1)!.wallMs)} ms`);
    }
    // The old way costs several seconds a time: fewer runs are enough to show the ratio.
    for (let i = 0; i < Math.min(runs, 3); i++) {
      withoutTemplate.push(await runProcess(['--import', 'tsx', path.resolve('bench/support/open-without-template.ts'), path.join(root, `old-${i}`)], {}));
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  const result = {
    runs,
    loadAverage: { start: loadAtStart, end: loadAverage() },
    bareNode: summariseRuns(bareNode),
    pgliteImport: summariseRuns(pgliteImport),
    pgliteReopen: summariseRuns(pgliteReopen),
    pgliteReopenLiftoff: summariseRuns(pgliteReopenLiftoff),
    newDataDir: summariseRuns(newDir),
    reopen: summariseRuns(reopen),
    menuReopen: summariseRuns(menuReopen),
    newDataDirWithoutTemplate: summariseRuns(withoutTemplate),
    targets: { newDataDirMs: 1500, newDataDirRssMb: 400, reopenMs: 700 },
    notes: 'Medians of fresh processes. `livingworld list` through the built CLI (dist/); peak RSS and CPU time (user + system, all threads) of the process from process.resourceUsage() at exit. The menu figure is the wall time until the interactive menu asks "Choose" on the reopened directory (its CPU and RSS include quitting). "PGlite alone" opens the same data directory with pgvector and runs SELECT 1 in a plain node process. "without template" opens a new data directory with initdb and every migration (what every first start did before the template), through the same openEmbeddedDatabase + migrate, in a tsx process.',
  };
  writeResult('first-start', result);
  console.log(JSON.stringify(result, null, 2));
}

await main();
