/**
 * Background work over a 200-scene story: model calls by purpose (scene, repair, summary,
 * reflection, talk) with summaries and reflections run by a job worker beside the turns;
 * fact recall (facts a scripted model established along the way, and resolved some of, read
 * back from what the storyteller was sent at the last scene, and from a branch rewound before
 * them); and turn latency p50 with no background work (extractive summaries) against turns
 * taken while summaries are due and the worker is busy with them.
 *
 *   npx tsx bench/background-work.ts        (BENCH_SCENES=N to change the story's length)
 */
import type { Database } from '../src/db/index.js';
import { backgroundSettingsFor, startJobWorker } from '../src/jobs/index.js';
import type { CompletionRequest } from '../src/llm/provider.js';
import { readModelCallsByPurpose } from '../src/llm/model-call-counts.js';
import { createBackgroundJobHandlers } from '../src/story/background-job-handlers.js';
import { createStory } from '../src/story/create-story.js';
import { rewindStory } from '../src/story/rewind-story.js';
import { isSummaryDue } from '../src/story/summary-job.js';
import { takeTurn } from '../src/story/take-turn.js';
import { summarise, writeResult } from './lib.js';
import { envNumber, round, sized, sleep } from './support/bench-options.js';
import { openBenchServerDatabase } from './support/bench-databases.js';
import { createBenchEngine, loadOfflineEmbedder } from './support/bench-engine.js';
import { createCountingProvider } from '../test/helpers/counting-provider.js';

const scenes = envNumber('BENCH_SCENES', sized(200, 40));
const modelLatencyMs = 25;
const summaryEvery = 4;

/** A possession established every 10 scenes from scene 5; every third one is given away 5 scenes later. */
function factsFor(sceneNumber: number): unknown[] {
  const facts: unknown[] = [];
  if (sceneNumber % 10 === 5) facts.push({ type: 'possession', subject: `token ${sceneNumber}`, text: `You carry the carved token of scene ${sceneNumber}.` });
  if (sceneNumber === 5) facts.push({ type: 'promise', subject: 'the ferryman', text: 'You promised Oren the ferryman to return before the thaw.' });
  const given = sceneNumber - 5;
  if (given % 10 === 5 && ((given - 5) / 10) % 3 === 1) facts.push({ type: 'possession', subject: `token ${given}`, text: `You gave away token ${given}.`, status: 'resolved' });
  return facts;
}

function expectedFacts(throughScene: number): { held: string[]; resolved: string[] } {
  const held: string[] = [];
  const resolved: string[] = [];
  for (let n = 5; n <= throughScene; n += 10) {
    const text = `You carry the carved token of scene ${n}.`;
    if ((n - 5) / 10 % 3 === 1 && n + 5 <= throughScene) resolved.push(text);
    else held.push(text);
  }
  if (throughScene >= 5) held.push('You promised Oren the ferryman to return before the thaw.');
  return { held, resolved };
}

function sceneNumberOf(request: CompletionRequest): number {
  return request.task?.kind === 'scene' ? request.task.sceneNumber : 0;
}

/** The scripted model: scenes with Oren present and the facts above, summaries, reflections. */
function answer(request: CompletionRequest, call: number): string {
  if (request.purpose === 'summary') return `Summary ${call}: the ferry crossing goes on; Oren keeps watch.`;
  if (request.purpose === 'reflection') return JSON.stringify({ reflections: [{ text: `Oren thinks the player keeps their word (${call}).`, evidence: [1, 2] }] });
  const n = sceneNumberOf(request);
  return JSON.stringify({
    scene: `Scene ${n}. The ferry noses along the brown river; Oren the ferryman mends a line and talks about the weather upstream.`,
    choices: ['Help Oren with the line', 'Watch the banks', 'Ask about the thaw'],
    characters: [{ name: 'Oren Dask', role: 'present', importance: 0.6, thought: 'The passenger is patient.', reaction: 'He nods.' }],
    facts: factsFor(n),
  });
}

interface Played {
  storyId: string;
  heads: string[];
  turnMs: { sceneNumber: number; ms: number; jobRunning: boolean }[];
  prompts: Map<number, string>;
}

/** extractive: the turn writes the summary itself, nothing queued; queued: jobs queued, no worker until the end; worker: a worker runs them beside the turns. */
type Mode = 'extractive' | 'queued' | 'worker';

async function play(db: Database, mode: Mode): Promise<Played & { worker?: { stop(): Promise<void> } }> {
  const withBackground = mode !== 'extractive';
  const prompts = new Map<number, string>();
  const provider = createCountingProvider({
    latencyMs: modelLatencyMs,
    answer: (request, call) => {
      const n = sceneNumberOf(request);
      if (n > 0) prompts.set(n, request.messages.map((m) => m.content).join('\n'));
      return answer(request, call);
    },
  });
  const base = createBenchEngine(db, provider, await loadOfflineEmbedder());
  const deps = withBackground
    ? { ...base, background: backgroundSettingsFor({ name: 'openai', offline: false }, { summaries: 'model', summaryEveryScenes: summaryEvery }) }
    : base;
  const worker = mode === 'worker'
    ? await startJobWorker({ db, log: deps.log, owner: deps.instanceId, handlers: createBackgroundJobHandlers(deps), skipStoriesGenerating: false, pollMs: 100 })
    : undefined;
  const { story, opening } = await createStory(deps, { title: `Background work: ${mode}`, setting: 'A slow river ferry' });
  const heads = [opening.scene.id];
  const turnMs: Played['turnMs'] = [];
  for (let n = 2; n <= scenes; n++) {
    const { rows } = await db.query<{ running: number }>(`SELECT count(*)::int AS running FROM background_jobs WHERE story_id = $1 AND status = 'running'`, [story.id]);
    const started = performance.now();
    heads.push((await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 1 })).scene.id);
    turnMs.push({ sceneNumber: n, ms: performance.now() - started, jobRunning: rows[0]!.running > 0 });
  }
  return { storyId: story.id, heads, turnMs, prompts, ...(worker ? { worker } : {}) };
}

async function waitForJobs(db: Database, storyId: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const { rows } = await db.query<{ open: number }>(`SELECT count(*)::int AS open FROM background_jobs WHERE story_id = $1 AND status IN ('queued', 'running')`, [storyId]);
    if (rows[0]!.open === 0) return;
    await sleep(100);
  }
}

async function main(): Promise<void> {
  const bench = await openBenchServerDatabase();
  try {
    const without = await play(bench.db, 'extractive');
    const queued = await play(bench.db, 'queued');
    const withWork = await play(bench.db, 'worker');
    await waitForJobs(bench.db, withWork.storyId);
    const calls = await readModelCallsByPurpose(bench.db, withWork.storyId);
    const { rows: turnCalls } = await bench.db.query<{ turns: number; calls: number; max: number }>(
      `SELECT count(*)::int AS turns, sum(model_calls)::int AS calls, max(model_calls)::int AS max FROM turns WHERE story_id = $1`,
      [withWork.storyId],
    );
    const { rows: jobs } = await bench.db.query<{ kind: string; status: string; n: number }>(
      `SELECT kind, status, count(*)::int AS n FROM background_jobs WHERE story_id = $1 GROUP BY 1, 2 ORDER BY 1, 2`,
      [withWork.storyId],
    );

    // Fact recall at the last scene, and on a branch rewound to scene 4.
    const last = withWork.prompts.get(scenes) ?? '';
    const expected = expectedFacts(scenes - 1);
    const recalled = expected.held.filter((fact) => last.includes(fact)).length;
    const stale = expected.resolved.filter((fact) => last.includes(fact)).length;
    await rewindStory({ db: bench.db }, withWork.storyId, { toSceneId: withWork.heads[3]! });
    // The branch's own scenes establish nothing: whatever fact its prompts show would have leaked.
    let branchPrompt = '';
    const branchProvider = createCountingProvider({
      latencyMs: 0,
      answer: (request, call) => {
        branchPrompt += request.messages.map((m) => m.content).join('\n');
        return JSON.stringify({ ...JSON.parse(answer(request, call)), facts: [] });
      },
    });
    const branchDeps = createBenchEngine(bench.db, branchProvider, await loadOfflineEmbedder());
    for (let i = 0; i < 3; i++) await takeTurn(branchDeps, { storyId: withWork.storyId, kind: 'advance', choiceNumber: 2 });
    const leaked = [...expectedFacts(scenes).held, ...expectedFacts(scenes).resolved].filter((fact) => branchPrompt.includes(fact)).length;
    await withWork.worker?.stop();

    const due = withWork.turnMs.filter((t) => isSummaryDue(t.sceneNumber, summaryEvery));
    const duringJob = withWork.turnMs.filter((t) => t.jobRunning);
    const result = {
      benchmark: 'background-work',
      scenes,
      modelLatencyMs,
      summaryEveryScenes: summaryEvery,
      reflectionThreshold: backgroundSettingsFor({ name: 'openai', offline: false }).reflectionThreshold,
      callsByPurpose: calls,
      criticalPath: { turns: turnCalls[0]!.turns, modelCalls: turnCalls[0]!.calls, callsPerTurn: round(turnCalls[0]!.calls / turnCalls[0]!.turns, 3), maxCallsInOneTurn: turnCalls[0]!.max },
      jobs: Object.fromEntries(jobs.map((j) => [`${j.kind} ${j.status}`, j.n])),
      factRecall: {
        established: expected.held.length,
        inLastScenePrompt: recalled,
        recall: round(recalled / Math.max(1, expected.held.length), 3),
        resolvedStillShown: stale,
        resolved: expected.resolved.length,
        leakedIntoBranchRewoundToScene4: leaked,
      },
      turnLatencyMs: {
        extractiveSummariesNoJobs: summarise(without.turnMs.map((t) => t.ms)),
        jobsQueuedNoWorker: summarise(queued.turnMs.map((t) => t.ms)),
        workerRunningBesideTurns: summarise(withWork.turnMs.map((t) => t.ms)),
        workerRunning_summaryDueTurns: summarise(due.map((t) => t.ms)),
        workerRunning_otherTurns: summarise(withWork.turnMs.filter((t) => !isSummaryDue(t.sceneNumber, summaryEvery)).map((t) => t.ms)),
        workerRunning_whileAJobRan: summarise(duringJob.map((t) => t.ms)),
      },
      method:
        `One story of ${scenes} scenes per case on server PostgreSQL, a scripted in-process model answering after ${modelLatencyMs} ms (scenes with one character and facts; summaries; reflections). ` +
        `Three cases: the extractive summary written by the turn itself (nothing queued); model summaries every ${summaryEvery} scenes leaving the window and reflections queued but no worker running; the same with a job worker in the same process running them beside the turns (the figure the latency claim is about: against "queued, no worker"). ` +
        'Calls, jobs and recall are from the worker case. Recall: facts still true at the last scene found verbatim in what the storyteller was sent for it.',
    };
    writeResult('background-work', result);
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await bench.dispose();
  }
}

await main();
