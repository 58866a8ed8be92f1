/**
 * First start: `livingworld list` on a new data directory and on an existing one, as a person
 * runs it (the built CLI in a fresh process), wall time and the process's peak RSS. Baselines in
 * the same run: a bare `node` start, and a new data directory made the old way (initdb plus every
 * migration, the template switched off by pointing at a missing one).
 *
 *   npx tsx bench/first-start.ts [--runs N]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeResult } from './lib.js';
import { median, quick, runsArgument } from './support/bench-options.js';

const cli = path.resolve('dist/cli/main.js');
const peakRssPreload = path.resolve('bench/support/report-peak-rss.mjs');

interface ProcessRun {
  wallMs: number;
  peakRssMb: number;
}

/** Runs one process; its peak RSS comes from the preload, which writes it when the process exits. */
function runProcess(args: string[], env: Record<string, string>): Promise<ProcessRun> {
  const rssFile = path.join(os.tmpdir(), `lw-bench-rss-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', peakRssPreload, ...args], {
      env: { ...process.env, ...env, LW_BENCH_RSS_FILE: rssFile, LLM_PROVIDER: 'offline' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => {
      const wallMs = performance.now() - started;
      if (code !== 0) return reject(new Error(`${args.join(' ')} exited with ${code}: ${stderr}`));
      const peakRssMb = Number(fs.readFileSync(rssFile, 'utf8')) / 1024;
      fs.rmSync(rssFile, { force: true });
      resolve({ wallMs, peakRssMb });
    });
  });
}

function summariseRuns(runs: ProcessRun[]): { wallMs: number; peakRssMb: number; n: number } {
  return { n: runs.length, wallMs: Math.round(median(runs.map((r) => r.wallMs))), peakRssMb: Math.round(median(runs.map((r) => r.peakRssMb))) };
}

async function main(): Promise<void> {
  if (!fs.existsSync(cli)) throw new Error('Run `npm run build` first: the bench times the built CLI.');
  const runs = runsArgument(process.argv.slice(2), quick ? 2 : 5);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-bench-first-start-'));
  const bareNode: ProcessRun[] = [];
  const newDir: ProcessRun[] = [];
  const reopen: ProcessRun[] = [];
  const withoutTemplate: ProcessRun[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      bareNode.push(await runProcess(['-e', '0'], {}));
      const dataDir = path.join(root, `new-${i}`);
      newDir.push(await runProcess([cli, 'list'], { LIVINGWORLD_DATA_DIR: dataDir }));
      reopen.push(await runProcess([cli, 'list'], { LIVINGWORLD_DATA_DIR: dataDir }));
      console.log(`run ${i + 1}/${runs}: new ${Math.round(newDir.at(-1)!.wallMs)} ms, reopen ${Math.round(reopen.at(-1)!.wallMs)} ms`);
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
    bareNode: summariseRuns(bareNode),
    newDataDir: summariseRuns(newDir),
    reopen: summariseRuns(reopen),
    newDataDirWithoutTemplate: summariseRuns(withoutTemplate),
    targets: { newDataDirMs: 1500, newDataDirRssMb: 400, reopenMs: 700 },
    notes: 'Medians of fresh processes. `livingworld list` through the built CLI (dist/); peak RSS of the process from process.resourceUsage().maxRSS at exit. "without template" opens a new data directory with initdb and every migration (what every first start did before the template), through the same openEmbeddedDatabase + migrate, in a tsx process.',
  };
  writeResult('first-start', result);
  console.log(JSON.stringify(result, null, 2));
}

await main();
