/**
 * Writes bench/results/README.md from the JSON files the modules wrote: machine, date, one
 * table per figure group with its same-run baseline and ratio, and how to reproduce.
 * Runs at the end of run-all; `npx tsx bench/write-report.ts` regenerates it alone.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { machine, resultsDir } from './lib.js';

export interface RunRecord {
  mode: 'quick' | 'full';
  startedAt: string;
  commit: string;
  dirty: boolean;
  /** Sum of the modules' run times. */
  totalSeconds?: number;
  /** Set when BENCH_ONLY re-ran some modules after the run of `startedAt`. */
  rerun?: { at: string; modules: string[]; mode: 'quick' | 'full' };
  modules: Record<string, { exitCode: number | null; seconds: number; timedOut: boolean; finishedAt: string }>;
}

// The result files are our own output, read back for display only.
type Json = any;

function readResult(name: string): Json | undefined {
  const file = path.join(resultsDir, `${name}.json`);
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
}

const fmt = (value: unknown, digits = 2): string => {
  if (value === null || value === undefined || (typeof value === 'number' && !Number.isFinite(value))) return '—';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(digits);
  return String(value);
};

function table(header: string[], rows: unknown[][]): string {
  const line = (cells: unknown[]) => `| ${cells.map((c) => (typeof c === 'string' ? c : fmt(c))).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function missing(name: string, record: RunRecord): string {
  const run = record.modules[name];
  if (!run) return `_Not run in this run (no ${name}.json)._`;
  return `_Not measured: the module ${run.timedOut ? 'timed out' : `exited with code ${run.exitCode}`}; see the console output of \`npm run bench\`._`;
}

function staleNote(name: string, record: RunRecord): string {
  const run = record.modules[name];
  if (run && run.exitCode !== 0) return `\n> ⚠ This run of ${name} failed (${run.timedOut ? 'timed out' : `exit ${run.exitCode}`}); the figures below are from an earlier run.\n`;
  return '';
}

function dbTransaction(record: RunRecord): string {
  const r = readResult('db-transaction');
  if (!r) return missing('db-transaction', record);
  const t = r.lockInsertCommitMs;
  return [
    staleNote('db-transaction', record),
    `Embedded (PGlite) cold open + migrate of a new data directory: **${fmt(r.embedded.coldOpenAndMigrateMs)} ms**; reopen + migrate (nothing to do): **${fmt(r.embedded.reopenMs)} ms**.`,
    '',
    table(
      ['lock story, insert, commit (server PostgreSQL)', 'n', 'p50 ms', 'p95 ms', 'p99 ms'],
      [
        ['withTransaction helper', t.helper.n, t.helper.p50, t.helper.p95, t.helper.p99],
        ['bare pg (baseline)', t.barePg.n, t.barePg.p50, t.barePg.p95, t.barePg.p99],
        ['**ratio helper / bare**', '', `**${fmt(t.ratioP50)}**`, `**${fmt(t.ratioP95)}**`, ''],
      ],
    ),
    '',
    `_${r.notes}_`,
  ].join('\n');
}

function firstStart(record: RunRecord): string {
  const r = readResult('first-start');
  if (!r) return missing('first-start', record);
  const row = (label: string, s: Json | undefined, target?: string) => (s ? [label, s.n, s.wallMs, s.cpuMs ?? '', s.peakRssMb, target ?? ''] : undefined);
  const load = r.loadAverage ? ` Load average (1, 5, 15 min) ${r.loadAverage.start.join(', ')} at the start, ${r.loadAverage.end.join(', ')} at the end.` : '';
  return [
    staleNote('first-start', record),
    `\`livingworld list\` in a fresh process, medians of ${r.runs} runs.${load}`,
    '',
    table(
      ['figure', 'n', 'wall ms', 'CPU ms', 'peak RSS MB', 'target'],
      [
        row('new data directory (copy of the migrated template)', r.newDataDir, `≤ ${r.targets.newDataDirMs} ms, ≤ ${r.targets.newDataDirRssMb} MB`),
        row('reopen', r.reopen, `≤ ${r.targets.reopenMs} ms`),
        row('interactive menu on the reopened directory, until it asks', r.menuReopen),
        row('baseline: PGlite alone reopening the same directory (V8 default compilation)', r.pgliteReopen),
        row('baseline: PGlite alone reopening it, Liftoff only (as one-shot commands run)', r.pgliteReopenLiftoff),
        row('baseline: importing PGlite and pgvector', r.pgliteImport),
        row('baseline: new data directory without the template (initdb + migrations)', r.newDataDirWithoutTemplate),
        row('baseline: bare `node -e 0`', r.bareNode),
      ].filter((cells): cells is unknown[] => cells !== undefined),
    ),
    '',
    `_${r.notes}_`,
  ].join('\n');
}

function offlineEmbedder(record: RunRecord): string {
  const r = readResult('offline-embedder');
  if (!r) return missing('offline-embedder', record);
  const s = r.summary;
  return [
    staleNote('offline-embedder', record),
    `${r.runs} fresh processes; median [min–max]. Budget: start-up ≤ ${r.budget.startupMs} ms, memory ≤ ${r.budget.memoryMb} MB → **${r.withinBudget ? 'within budget' : 'OVER BUDGET'}**.`,
    '',
    table(
      ['figure', 'median', 'min', 'max'],
      [
        ['module import (tsx transform included) ms', s.importMs.median, s.importMs.min, s.importMs.max],
        ['vocabulary load ms', s.loadMs.median, s.loadMs.min, s.loadMs.max],
        ['RSS growth after load MB', s.rssDeltaMb.median, s.rssDeltaMb.min, s.rssDeltaMb.max],
        ['RSS growth after 1,000 embeddings MB', s.rssDeltaAfterEmbedMb.median, s.rssDeltaAfterEmbedMb.min, s.rssDeltaAfterEmbedMb.max],
        ['embedding µs per text', s.embedMicrosPerText.median, s.embedMicrosPerText.min, s.embedMicrosPerText.max],
      ],
    ),
  ].join('\n');
}

function turnOverhead(record: RunRecord): string {
  const r = readResult('turn-overhead');
  if (!r) return missing('turn-overhead', record);
  const rows = r.results.map((b: Json) => [
    b.backend === 'embedded' ? 'embedded PGlite' : 'server PostgreSQL',
    b.turns,
    b.engineWithoutModelMs.p50,
    b.engineWithoutModelMs.p95,
    b.bareProtocolMs.p50,
    b.bareProtocolMs.p95,
    `**${fmt(b.ratioP50)}**`,
    `**${fmt(b.ratioP95)}**`,
  ]);
  const parts = r.results.map((b: Json) => [
    b.backend,
    b.engineWithoutModelMs.p50,
    `${fmt(b.breakdownP50.contextBuildingMs)} (${fmt(b.shareOfEngineP50.contextBuildingMs)})`,
    `${fmt(b.breakdownP50.embeddingMs)} (${fmt(b.shareOfEngineP50.embeddingMs)})`,
    `${fmt(b.breakdownP50.characterWritesMs)} (${fmt(b.shareOfEngineP50.characterWritesMs)})`,
    b.breakdownP50.offlineStorytellerMs,
  ]);
  return [
    staleNote('turn-overhead', record),
    table(['backend', 'turns', 'engine p50 ms', 'engine p95 ms', 'bare protocol p50 ms', 'bare p95 ms', 'ratio p50', 'ratio p95'], rows),
    '',
    'Where the engine time goes (medians per turn, ms, and share of the engine p50):',
    '',
    table(['backend', 'engine p50', 'context building', 'embedding', 'character writes', 'offline storyteller (excluded above)'], parts),
    '',
    ...(r.results.every((b: Json) => b.statementsPerTurnP50)
      ? [
          'Round trips per turn (statements sent, BEGIN and COMMIT included; medians):',
          '',
          table(
            ['backend', 'engine in transactions', 'engine outside transactions', 'engine total', 'bare protocol'],
            r.results.map((b: Json) => [b.backend, b.statementsPerTurnP50.engineInTransactions, b.statementsPerTurnP50.engineOutsideTransactions, `**${fmt(b.statementsPerTurnP50.engine)}**`, b.statementsPerTurnP50.bare]),
          ),
          '',
        ]
      : []),
    `_${r.method}_`,
  ].join('\n');
}

function singleFlight(record: RunRecord): string {
  const r = readResult('single-flight');
  if (!r) return missing('single-flight', record);
  return [
    staleNote('single-flight', record),
    `Model latency ${r.modelLatencyMs} ms; target: 1 model call per turn and wall time / model latency close to 1. C = 1 is the baseline.`,
    '',
    table(
      ['concurrent identical requests', 'rounds', 'model calls per turn', 'wall ms (median)', 'wall / model latency', 'worst round / latency', 'wall vs C = 1', 'answers'],
      r.results.map((x: Json) => [
        x.concurrency,
        x.rounds,
        `**${fmt(x.modelCallsPerTurn)}**`,
        x.wallMsMedian,
        `**${fmt(x.wallOverModelLatencyMedian)}**`,
        x.wallOverModelLatencyMax,
        x.wallOverSingleRequest,
        Object.entries(x.outcomes).map(([k, v]) => `${k} ${v}`).join(', '),
      ]),
    ),
    '',
    `_${r.method}_`,
  ].join('\n');
}

function throughput(record: RunRecord): string {
  const r = readResult('throughput');
  if (!r) return missing('throughput', record);
  return [
    staleNote('throughput', record),
    `${r.storyCount} stories, ${r.cellSeconds} s per cell, ${r.engineInstances} engine instances on one pool of ${r.poolSize}. Ideal for L > 0 is C / L.`,
    '',
    table(
      ['clients C', 'model latency L ms', 'turns', 'turns/s', 'ideal C/L', 'of ideal', 'vs C = 1 (same L)', 'turn p50 ms', 'turn p95 ms', 'Node CPU %', 'machine busy %', 'errors'],
      r.cells.map((c: Json) => [
        c.clients,
        c.modelLatencyMs,
        c.turns,
        `**${fmt(c.turnsPerSecond, 1)}**`,
        c.idealTurnsPerSecond,
        c.ofIdeal === null ? '—' : `**${fmt(c.ofIdeal)}**`,
        c.vsOneClientSameLatency,
        c.turnLatencyMs.p50,
        c.turnLatencyMs.p95,
        c.nodeCpuPercent,
        c.machineCpuBusyPercent,
        Object.keys(c.errors).length === 0 ? 0 : JSON.stringify(c.errors),
      ]),
    ),
    '',
    `_${r.method}_ Node CPU 100 % = one core busy with the benchmark process (engine and clients); the machine has 2 cores, shared with PostgreSQL.`,
    externalLoadNote(r.cells),
  ].join('\n');
}

/** Says so when the machine was busy although this benchmark itself was nearly idle (other work on the box). */
function externalLoadNote(cells: Json[]): string {
  const idle = cells.find((c) => c.clients === 1 && c.modelLatencyMs > 0);
  if (!idle || idle.nodeCpuPercent >= 20 || idle.machineCpuBusyPercent < 80) return '';
  return `\n> Other work was competing for the CPU during this run: with one client waiting on a ${idle.modelLatencyMs} ms model, this process used ${idle.nodeCpuPercent} % of a core, yet the machine was ${idle.machineCpuBusyPercent} % busy. Absolute turns/s are depressed accordingly; the ratios within the table are the figures to read.`;
}

function retrieval(record: RunRecord): string {
  const r = readResult('retrieval');
  if (!r) return missing('retrieval', record);
  if (!Array.isArray(r.sets)) return '_retrieval.json is from an older format; re-run `BENCH_ONLY=retrieval npm run bench`._';
  const out: string[] = [staleNote('retrieval', record), `${r.queryCount} queries per case, memories of one character in one story. On pgvector, scopes of at most ${r.exactScanMaxRows} rows are scored exactly, larger ones go through HNSW (ef_search 100).`, ''];
  for (const set of r.sets) {
    out.push(`**${set.set}** — ${set.vectors}`, '');
    out.push(
      table(
        ['PGlite memories', 'plan', 'HNSW build s', 'top-10 p50 ms', 'top-10 p95 ms', 'recall@10', 'ef 40: recall / p50 ms', 'ef 200: recall / p50 ms', 'exact scan p50 ms (same PGlite, baseline)', 'p50 / exact scan', 'retrieveMemories p50 ms'],
        set.embedded.map((x: Json) => [
          x.size,
          x.plan,
          x.hnswBuildSeconds,
          `**${fmt(x.engineDefault.top10Ms.p50)}**`,
          x.engineDefault.top10Ms.p95,
          `**${fmt(x.engineDefault.recallAt10, 3)}**`,
          `${fmt(x.efSearch['40'].recallAt10, 3)} / ${fmt(x.efSearch['40'].top10Ms.p50)}`,
          `${fmt(x.efSearch['200'].recallAt10, 3)} / ${fmt(x.efSearch['200'].top10Ms.p50)}`,
          x.exactScanSamePglite.top10Ms.p50,
          x.top10P50VsExactScan,
          x.engineDefault.retrieveMemoriesMs?.p50,
        ]),
      ),
    );
    out.push(...(set.skipped.length > 0 ? ['', ...set.skipped.map((note: string) => `> ${note}`)] : []), '');
    out.push(
      table(
        ['server memories', 'exact search', 'queries', 'top-10 p50 ms', 'top-10 p95 ms', 'per-row unnest scan p50 ms (baseline)', 'ratio p50', 'retrieveMemories p50 ms', 'recall@10'],
        set.server.map((x: Json) => [x.size, x.exactSearch, x.exact.top10Ms.n, `**${fmt(x.exact.top10Ms.p50)}**`, x.exact.top10Ms.p95, x.unnestBaseline.top10Ms.p50, `**${fmt(x.ratioP50)}**`, x.exact.retrieveMemoriesMs?.p50, x.exact.recallAt10]),
      ),
      '',
    );
  }
  out.push(`_${r.method}_`);
  return out.join('\n');
}

function worldScale(record: RunRecord): string {
  const r = readResult('world-scale');
  if (!r) return missing('world-scale', record);
  return [
    staleNote('world-scale', record),
    `A branchy story of ${r.longScenes} scenes against one of ${r.shortScenes}, ${r.characters} characters met in both. Targets: head read p50 ≤ ${r.targets.headReadP50MsAtLong} ms at ${r.longScenes} scenes; turn overhead ratio ${r.longScenes}/${r.shortScenes} ≤ ${r.targets.turnOverheadRatioP50}.`,
    '',
    table(
      ['backend', 'head depth long / short', 'characters / relationships at head', 'head read p50 ms long', 'head read p50 ms short', 'ratio', 'fold of path p50 ms long / short (not chosen)', 'turn overhead p50 ms long', 'short', 'ratio', 'snapshot copy p50 ms long / short'],
      r.results.map((b: Json) => [
        b.backend,
        `${b.long.headDepth} / ${b.short.headDepth}`,
        `${b.headCharacters} / ${b.headRelationships}`,
        `**${fmt(b.headReadMs.long.p50)}**`,
        b.headReadMs.short.p50,
        b.headReadRatioP50,
        `${fmt(b.foldReadMs.long.p50)} / ${fmt(b.foldReadMs.short.p50)}`,
        b.turnOverheadMs.long.p50,
        b.turnOverheadMs.short.p50,
        `**${fmt(b.turnOverheadRatioP50)}**`,
        `${fmt(b.snapshotCopyMs.long.p50)} / ${fmt(b.snapshotCopyMs.short.p50)}`,
      ]),
    ),
    '',
    `_${r.method}_`,
  ].join('\n');
}

function callsPerTurn(record: RunRecord): string {
  const r = readResult('calls-per-turn');
  if (!r) return missing('calls-per-turn', record);
  return [
    staleNote('calls-per-turn', record),
    `${r.turnsPerCase} turns per case. Ideal: 1 call per turn.`,
    '',
    table(
      ['model', 'characters present per scene', 'model calls', 'recorded in turns', 'calls per turn', 'vs ideal', 'failed turns'],
      r.characterCases.map((x: Json) => [x.model, x.charactersPerScene, x.modelCalls, x.modelCallsRecorded, `**${fmt(x.callsPerTurn)}**`, x.vsIdeal, Object.values(x.failed).reduce((a: number, b) => a + (b as number), 0)]),
    ),
    '',
    'Corrective re-ask (a bad answer offers two choices instead of three):',
    '',
    table(
      ['scripted model', 'scripted bad share', 're-ask rate (turns.model_calls > 1)', 'calls per turn', 'failed share', 'failures'],
      r.reaskCases.map((x: Json) => [x.scenario, x.scriptedBadShare, `**${fmt(x.reaskRate)}**`, x.callsPerTurn, x.failedShare, JSON.stringify(x.failed)]),
    ),
    '',
    `_${r.method}_`,
  ].join('\n');
}

function backgroundWork(record: RunRecord): string {
  const r = readResult('background-work');
  if (!r) return missing('background-work', record);
  const t = r.turnLatencyMs;
  const f = r.factRecall;
  const row = (label: string, d: Json) => [label, d.n, d.p50, d.p95];
  return [
    staleNote('background-work', record),
    `A ${r.scenes}-scene story; model summaries every ${r.summaryEveryScenes} scenes leaving the window, reflections past importance ${r.reflectionThreshold}, run as background jobs.`,
    '',
    table(
      ['calls by purpose', ...Object.keys(r.callsByPurpose), 'critical path: calls per turn', 'most calls in one turn'],
      [['model calls', ...Object.values(r.callsByPurpose), `**${fmt(r.criticalPath.callsPerTurn, 3)}**`, r.criticalPath.maxCallsInOneTurn]],
    ),
    '',
    `Fact recall at scene ${r.scenes}: **${f.inLastScenePrompt} of ${f.established}** facts still true were in what the storyteller was sent (recall **${fmt(f.recall, 3)}**); resolved facts still shown: ${f.resolvedStillShown} of ${f.resolved}; facts leaked into a branch rewound to scene 4: **${f.leakedIntoBranchRewoundToScene4}**.`,
    '',
    table(
      ['turn latency', 'n', 'p50 ms', 'p95 ms'],
      [
        row('extractive summary, nothing queued', t.extractiveSummariesNoJobs),
        row('jobs queued, no worker running (baseline)', t.jobsQueuedNoWorker),
        row('**worker running beside the turns**', t.workerRunningBesideTurns),
        row('… turns that made a summary due', t.workerRunning_summaryDueTurns),
        row('… other turns', t.workerRunning_otherTurns),
        row('… turns taken while a job was running', t.workerRunning_whileAJobRan),
      ],
    ),
    '',
    `_${r.method}_`,
  ].join('\n');
}

function httpFigures(record: RunRecord): string {
  const r = readResult('http');
  if (!r) return missing('http', record);
  const row = (label: string, f: Json) => [label, f.servers, `**${fmt(f.requestsPerSecond, 1)}**`, f.latencyMs.p50, f.latencyMs.p95, f.ok, f.non2xx, f.errors, f.machineCpuBusyPercent];
  const s = r.sseTokenDelay;
  return [
    staleNote('http', record),
    `${r.storyCount} stories, autocannon ${r.connections} connections × ${r.loadSeconds} s per row.`,
    '',
    table(
      ['request', 'serve processes', 'req/s (2xx)', 'p50 ms', 'p95 ms', '2xx', 'non-2xx', 'errors', 'machine busy %'],
      [
        row('GET /api/stories/:id', r.readStory.oneProcess),
        row('GET /api/stories/:id', r.readStory.twoProcesses),
        row('POST /api/stories/:id/turns', r.takeTurn.oneProcess),
        row('POST /api/stories/:id/turns', r.takeTurn.twoProcesses),
      ],
    ),
    '',
    `Two processes over one: reads **${fmt(r.readStory.twoOverOne)}×**, turns **${fmt(r.takeTurn.twoOverOne)}×**.`,
    '',
    'Model token → SSE byte at the client:',
    '',
    table(
      ['path', 'tokens', 'p50 ms', 'p95 ms', 'p99 ms'],
      [
        ['engine: provider → scene text stream → SSE → client', s.engineMs.n, s.engineMs.p50, s.engineMs.p95, s.engineMs.p99],
        ['bare node:http SSE (baseline)', s.bareSseMs.n, s.bareSseMs.p50, s.bareSseMs.p95, s.bareSseMs.p99],
        ['**ratio engine / bare**', '', `**${fmt(s.ratioP50)}**`, `**${fmt(s.ratioP95)}**`, ''],
      ],
    ),
    '',
    `_${r.method}_`,
  ].join('\n');
}

function offlineQuality(record: RunRecord): string {
  const r = readResult('offline-quality');
  if (!r) return missing('offline-quality', record);
  const t = r.totals;
  const verdict = (ok: boolean) => (ok ? 'met' : '**NOT met**');
  return [
    staleNote('offline-quality', record),
    `${r.stories.length} settings × ${r.turnsPerStory} scenes on one path each, offline storyteller through the real engine.`,
    '',
    table(
      ['figure', 'all stories', 'target', 'outcome'],
      [
        ['leaks of internal text', `**${t.leaks}**`, r.targets.leaks, verdict(r.met.leaks)],
        ['sentences repeated within 10 scenes', `**${t.repeatsWithin10}**`, r.targets.repeatsWithin10, verdict(r.met.repeatsWithin10)],
        ["instructions carried out in the first paragraph", `**${t.instructionsCarried}/${t.instructions} (${fmt(t.instructionsCarriedShare * 100, 1)} %)**`, `≥ ${r.targets.instructionsCarriedShare * 100} %`, verdict(r.met.instructionsCarriedShare)],
        ['setting content words per scene (mean)', t.settingWordsPerScene, '', ''],
        ['distinct character descriptions / characters', `${t.distinctDescriptions}/${t.characters}`, '', ''],
      ],
    ),
    '',
    table(
      ['story', 'scenes', 'leaks', 'repeats ≤ 10 scenes', 'instructions carried', 'setting words per scene (mean / median / min)', 'scenes with no setting word', 'characters', 'distinct descriptions', 'distinct voices'],
      r.stories.map((x: Json) => [x.title, x.scenes, x.leaks, x.repeatsWithin10, `${x.instructionsCarried}/${x.instructions}`, `${fmt(x.settingWordsPerScene.mean)} / ${x.settingWordsPerScene.median} / ${x.settingWordsPerScene.min}`, x.scenesUsingNoSettingWord, x.characters, x.distinctDescriptions, x.distinctVoices]),
    ),
    '',
    `_${r.method}_`,
  ].join('\n');
}

function tokenEstimate(record: RunRecord): string {
  const r = readResult('token-estimate');
  if (!r) return missing('token-estimate', record);
  return [
    staleNote('token-estimate', record),
    `${r.scenes} scenes (about ${r.averageSceneChars} characters each); the estimate assumes ${r.estimateCharsPerToken} characters a token. Positive error: the estimate counts more than the tokenizer (safe).`,
    '',
    table(
      ['real tokenizer', 'mean error %', 'min %', 'max %', 'undercounts', 'real chars/token'],
      Object.entries(r.comparisons as Record<string, Json>).map(([name, x]) => [name, `**${x.meanErrorPercent}**`, x.minErrorPercent, x.maxErrorPercent, x.undercounts, x.realCharsPerToken]),
    ),
  ].join('\n');
}

/** The load averages each module saw when it wrote its result (other people's work on the same 2 cores). */
function loadNote(): string {
  const seen = fs
    .readdirSync(resultsDir)
    .filter((file) => file.endsWith('.json') && file !== 'run.json')
    .map((file) => [file.replace(/\.json$/, ''), JSON.parse(fs.readFileSync(path.join(resultsDir, file), 'utf8'))?.machine?.loadAverage] as const)
    .filter(([, load]) => Array.isArray(load));
  if (seen.length === 0) return '';
  return `- Load average (1 min) on the 2 cores when each module finished: ${seen.map(([name, load]) => `${name} ${load[0]}`).join(', ')}. Above 2 the machine was shared with other work and every absolute figure is inflated.`;
}

export function writeReport(record: RunRecord): void {
  const m = machine();
  const sections: [string, (record: RunRecord) => string][] = [
    ['1. Database foundation: embedded open, transaction helper', dbTransaction],
    ['1a. First start: a new data directory and a reopen', firstStart],
    ['2. Offline embedder: load time and memory', offlineEmbedder],
    ['3. Engine overhead per turn (no model time) vs the bare two-transaction protocol', turnOverhead],
    ['4. Single flight: identical concurrent advances', singleFlight],
    ['5. Throughput across stories', throughput],
    ['5a. The world at scale: head-state reads and turn overhead at 2,000 vs 20 scenes', worldScale],
    ['6. Memory retrieval top-10', retrieval],
    ['7. Model calls per turn', callsPerTurn],
    ['8. HTTP: `livingworld serve`', httpFigures],
    ['9. Offline storyteller: prose quality over 50-turn paths', offlineQuality],
    ['10. Token estimate vs real tokenizers', tokenEstimate],
    ['11. Background work: calls by purpose, fact recall, turn latency', backgroundWork],
  ];
  const runs = Object.entries(record.modules).map(([name, run]) => [name, run.exitCode === 0 ? 'ok' : run.timedOut ? 'timed out' : `exit ${run.exitCode}`, run.seconds]);
  const text = [
    '# LivingWorld benchmark results',
    '',
    record.mode === 'quick' ? '> **QUICK RUN (BENCH_QUICK=1)**: small loops; figures are indicative only.\n' : '',
    `- Date: ${record.startedAt} (the modules took ${record.totalSeconds ?? '?'} s in all)`,
    record.rerun ? `- Re-run on ${record.rerun.at} (${record.rerun.mode}): ${record.rerun.modules.join(', ')}; the other modules' figures are from the date above.` : '',
    `- Code: commit ${record.commit}${record.dirty ? ' with uncommitted changes in src/ (other engineers at work)' : ''}`,
    `- Machine: ${m['cpus']} × ${m['cpuModel']}, ${m['memoryGiB']} GiB, ${m['platform']}, Node ${m['node']}`,
    '- Databases: PostgreSQL 15 server on 127.0.0.1:5432 (no pgvector: exact search), PGlite 0.5.14 embedded with pgvector 0.0.15',
    '- The machine is noisy and has 2 cores shared by the benchmark client, any server processes and PostgreSQL: read medians/p95 and the ratios against the baseline measured in the same run, not absolute numbers.',
    loadNote(),
    '',
    '**Reproduce:** `npm run bench` (about 10–15 minutes; PostgreSQL reachable at `BENCH_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`, a superuser that may create databases). `BENCH_QUICK=1 npm run bench` for a smoke run; `BENCH_ONLY=retrieval,http npm run bench` for some modules (`BENCH_ONLY=offline-quality npm run bench` for the offline storyteller prose quality alone); each module also runs alone, e.g. `npx tsx bench/turn-overhead.ts`. Every module creates and drops its own database; JSON beside this file.',
    '',
    table(['module', 'outcome', 'seconds'], runs),
    '',
    ...sections.flatMap(([title, render]) => [`## ${title}`, '', render(record), '']),
  ].join('\n');
  fs.writeFileSync(path.join(resultsDir, 'README.md'), `${text.replace(/\n{3,}/g, '\n\n')}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const record = JSON.parse(fs.readFileSync(path.join(resultsDir, 'run.json'), 'utf8')) as RunRecord;
  writeReport(record);
  console.log(`wrote ${path.join(resultsDir, 'README.md')}`);
}
