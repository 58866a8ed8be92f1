import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { callApi, type ApiTarget } from './api-client.js';
import { checkApiAgreesWithSql } from './api-agreement.js';
import { accountForCalls, readServerLogs, type CallAccount } from './call-accounting.js';
import { runClient, type OpBudget } from './client-mix.js';
import { createStory, type ClientContext, type ClientState } from './client-ops.js';
import { FakeModelServer, type ModelFaultRates } from './fake-model-server.js';
import { FaultInjector, type FaultEvent } from './fault-injector.js';
import { InvariantChecker } from './invariant-checker.js';
import { MetricsScraper } from './metrics-scraper.js';
import { OpStats } from './op-stats.js';
import { createRandom } from './random.js';
import { ServeFleet } from './serve-fleet.js';
import { StoryBook } from './story-book.js';
import { Violations } from './violations.js';
import { startLostReplyProxy, type LostReplyProxy } from './lost-reply-proxy.js';
import { EventWatchers, type WatchAccount } from './event-watchers.js';
import { checkArchiveWindows, checkKeyedEffects, type EffectAccount } from './edge-checks.js';
import { sigtermDuringImports } from './sigterm-imports.js';

/**
 * One hammer run at one isolation level: a fresh database, the fake model, N serve
 * processes, the client mix with faults, then every check. Returns the figures and the
 * violations; the caller decides how to print them and what exit code they mean.
 */

export interface HammerOptions {
  processes: number;
  clients: number;
  operations: number;
  isolation: 'read committed' | 'serializable';
  faults: boolean;
  allowPgRestart: boolean;
  hotStories: number;
  coldStories: number;
  seed: number;
  /** Upper bound for the load phase; the checks come after it. */
  maxLoadMs: number;
  adminUrl: string;
  modelLatencyMs: readonly [number, number];
  baselineModelFaults: ModelFaultRates;
  leaseMs: number;
  llmTimeoutMs: number;
  poolSize: number;
  faultIntervalMs: number;
  logDir: string;
  log: (line: string) => void;
}

export interface HammerReport {
  options: HammerOptions;
  databaseName: string;
  loadMs: number;
  /** Client operations (one may be several HTTP requests: export then import, read then edit). */
  operations: number;
  requests: number;
  opsPerSecond: number;
  stats: OpStats;
  turnAnswers: Map<string, number>;
  faults: FaultEvent[];
  incarnations: number;
  kills: number;
  metrics: Map<string, number>;
  calls: CallAccount | undefined;
  serverErrors: Map<string, number>;
  orphanedTurnsTakenOver: number;
  storiesCheckedThroughApi: number;
  /** Keyed writes, those sent again after an unknown outcome, and their effects beyond the first. */
  effects: EffectAccount | undefined;
  /** Event streams watched with Last-Event-ID reconnection, and the versions they missed. */
  watched: WatchAccount | undefined;
  lostCommitReplies: number;
  leftMidTurn: number;
  archives: number;
  scenesOnArchivedStories: number;
  violations: Violations;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const cliEntry = path.resolve('src/cli/main.ts');

function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

function smallPool(connectionString: string): pg.Pool {
  const pool = new pg.Pool({ connectionString, max: 3, application_name: 'livingworld-hammer', connectionTimeoutMillis: 10_000 });
  // Faults (a cluster restart) break idle connections; the pool replaces them.
  pool.on('error', () => {});
  return pool;
}

export async function runHammer(options: HammerOptions): Promise<HammerReport> {
  const { log } = options;
  const violations = new Violations();
  const stats = new OpStats();
  const databaseName = `lw_hammer_${randomBytes(5).toString('hex')}`;
  const admin = smallPool(options.adminUrl);
  await admin.query(`CREATE DATABASE ${databaseName}`);
  const pool = smallPool(databaseUrl(options.adminUrl, databaseName));
  // Slot 0 reaches PostgreSQL through the proxy that can lose COMMIT replies.
  const proxy: LostReplyProxy = await startLostReplyProxy(databaseUrl(options.adminUrl, databaseName));
  const model = await new FakeModelServer({ latencyMs: options.modelLatencyMs, faults: { hangRate: 0, garbageRate: 0 }, seed: options.seed, hangMaxMs: 30_000 }).start();
  const fleet = new ServeFleet({
    slots: options.processes,
    cliEntry,
    logDir: path.join(options.logDir, databaseName),
    startTimeoutMs: 60_000,
    modelBaseUrl: (incarnation) => model.baseUrlFor(incarnation),
    databaseUrlFor: (slot) => (slot === 0 ? proxy.url : databaseUrl(options.adminUrl, databaseName)),
    env: {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'] ?? os.tmpdir(),
      DATABASE_URL: databaseUrl(options.adminUrl, databaseName),
      LIVINGWORLD_DATA_DIR: path.join(os.tmpdir(), databaseName),
      LLM_PROVIDER: 'openai',
      OPENAI_MODEL: 'hammer-model',
      EMBEDDINGS_PROVIDER: 'offline',
      LIVINGWORLD_ISOLATION: options.isolation,
      LIVINGWORLD_LLM_TIMEOUT_MS: String(options.llmTimeoutMs),
      LIVINGWORLD_TURN_LEASE_MS: String(options.leaseMs),
      LIVINGWORLD_POOL_SIZE: String(options.poolSize),
      LIVINGWORLD_TURN_RATE_LIMIT: '1000000',
      LIVINGWORLD_SHUTDOWN_GRACE_MS: '3000',
      // Background jobs run in every process: model-written summaries every two scenes out of
      // the window and reflections often, so that jobs are claimed, killed and taken over too.
      LIVINGWORLD_BACKGROUND_JOBS: 'on',
      LIVINGWORLD_SUMMARIES: 'model',
      LIVINGWORLD_SUMMARY_EVERY: '2',
      LIVINGWORLD_REFLECTION_THRESHOLD: '2',
      LIVINGWORLD_JOB_LEASE_MS: String(options.leaseMs),
      LOG_LEVEL: 'warn',
      NO_COLOR: '1',
    },
  });
  const checker = new InvariantChecker(pool, violations);
  const scraper = new MetricsScraper(fleet);
  const book = new StoryBook(databaseName.slice(-6));
  const random = createRandom(options.seed);
  let faults: FaultInjector | undefined;
  let watchers: EventWatchers | undefined;
  let scrapeTimer: NodeJS.Timeout | undefined;
  const report: Partial<HammerReport> = {};

  try {
    log(`database ${databaseName}; starting ${options.processes} serve processes (${options.isolation})`);
    await fleet.startAll();
    const ctx: ClientContext = {
      book,
      stats,
      violations,
      timeouts: { turnMs: 60_000, otherMs: 30_000 },
      pickTarget: (r): ApiTarget => {
        const live = fleet.live();
        return live.length > 0 ? r.pick(live) : fleet.incarnations.at(-1)!;
      },
      killedDuring: (name, fromMs, toMs) => {
        const incarnation = fleet.byName(name);
        // A crash is reported once as such; the requests it cut short are its consequence, not more violations.
        return incarnation?.endedAt !== undefined && (incarnation.killed || incarnation.crashed) && incarnation.endedAt >= fromMs - 2_000 && incarnation.endedAt <= toMs + 100;
      },
    };

    // Stories first, with a well-behaved model, so that every run starts from the same shape.
    const setupClient: ClientState = { id: 0, random: createRandom(options.seed + 1), pending: [] };
    const wanted = [...Array.from({ length: options.hotStories }, () => true), ...Array.from({ length: options.coldStories }, () => false)];
    for (let i = 0; i < wanted.length; i += 8) await Promise.all(wanted.slice(i, i + 8).map((hot) => createStory(ctx, setupClient, hot)));
    log(`created ${book.stories.size} stories (${book.hot().length} hot)`);

    // One watcher per hot story and process, each reconnecting with Last-Event-ID.
    watchers = new EventWatchers(() => ctx.pickTarget(random));
    for (const story of book.hot()) for (let i = 0; i < options.processes; i++) watchers.watch(story.id);

    model.faults = { ...options.baselineModelFaults };
    scrapeTimer = setInterval(() => void scraper.scrapeAll().catch(() => {}), 2_000);
    if (options.faults) {
      faults = new FaultInjector({
        fleet,
        model,
        admin,
        databaseName,
        random: createRandom(options.seed + 2),
        baselineModelFaults: options.baselineModelFaults,
        intervalMs: options.faultIntervalMs,
        allowPgRestart: options.allowPgRestart,
        proxy,
        sigtermDuringImports: () =>
          sigtermDuringImports({ fleet, pool, book, random: createRandom(options.seed + 3), violations, stopTimeoutMs: 20_000 }),
        afterFault: async (event) => {
          log(`fault: ${event.kind}: ${event.detail}`);
          // Invariants must hold after every fault, while the load goes on.
          await checker.checkStructure(`after ${event.kind}`).catch((error: unknown) => log(`  (check after fault failed to run: ${(error as Error).message})`));
        },
      });
      faults.start();
    }

    const budget: OpBudget = { remaining: options.operations, started: Date.now(), deadline: Date.now() + options.maxLoadMs };
    const progress = setInterval(() => log(`  ${options.operations - budget.remaining} operations, ${violations.total} violations so far`), 10_000);
    await Promise.all(Array.from({ length: options.clients }, (_, i) => runClient(ctx, i + 1, options.seed * 1000 + i, budget)));
    clearInterval(progress);
    const loadMs = Date.now() - budget.started;
    if (budget.remaining > 0) log(`load phase hit its time limit with ${budget.remaining} operations left`);
    await faults?.stop();
    clearInterval(scrapeTimer);
    scrapeTimer = undefined;
    model.faults = { hangRate: 0, garbageRate: 0 };
    // Every slot live again for the checks (a crashed one may be restarting already).
    await sleep(1_000);
    for (let slot = 0; slot < options.processes; slot++) if (!fleet.isLive(slot)) await fleet.start(slot).catch(() => {});
    log(`load done: ${options.operations - budget.remaining} operations (${stats.total} requests) in ${(loadMs / 1000).toFixed(1)} s; checking`);

    // Turns orphaned by a SIGKILL stay leased until someone asks for the story again: ask, and
    // expect the next request to take them over (DESIGN §4.3).
    await sleep(options.leaseMs + 1_000);
    const liveOwners = new Set(fleet.live().map((i) => `:${i.pid}:`));
    let orphanedTurnsTakenOver = 0;
    const reported = new Set<string>();
    for (const turn of await checker.generatingTurns()) {
      reported.add(turn.id);
      const ownerAlive = [...liveOwners].some((pid) => turn.lease_owner.includes(pid));
      if (ownerAlive) {
        violations.add('turn still generating after every request ended', `story ${turn.story_id} turn ${turn.id} owner ${turn.lease_owner} (lease expired: ${turn.expired})`);
        continue;
      }
      const { rows: heads } = await pool.query<{ head_scene_id: string | null }>('SELECT head_scene_id FROM stories WHERE id = $1', [turn.story_id]);
      // A story whose opening was being written when its process died gets it from a regenerate.
      const probe =
        heads[0]?.head_scene_id === null
          ? await callApi(ctx.pickTarget(random), { method: 'POST', path: `/api/stories/${turn.story_id}/regenerate`, json: {}, timeoutMs: 60_000 })
          : await callApi(ctx.pickTarget(random), { method: 'POST', path: `/api/stories/${turn.story_id}/turns`, json: { choice: 1 }, timeoutMs: 60_000 });
      const still = (await checker.generatingTurns()).filter((t) => t.id === turn.id);
      if (still.length > 0 || ![201, 409].includes(probe.status)) {
        violations.add('orphaned turn not taken over by the next request', `story ${turn.story_id} turn ${turn.id}: probe answered ${probe.status} ${probe.errorCode ?? ''}`);
      } else {
        orphanedTurnsTakenOver++;
      }
    }
    const leftOver = (await checker.generatingTurns()).filter((t) => !reported.has(t.id));
    if (leftOver.length > 0) violations.add('turn still generating at the end', JSON.stringify(leftOver).slice(0, 300));

    const watched = await watchers.finish(pool, violations);
    await checker.checkStructure('final');
    const effects = await checkKeyedEffects(pool, book, violations);
    const scenesOnArchivedStories = await checkArchiveWindows(pool, book, violations);
    await checker.checkVersions(book);
    await checker.checkAcknowledgedScenes(book);
    await checker.checkHeadWorlds();
    await scraper.scrapeAll();
    const apiStories = [...book.hot(), ...random.sample(book.cold(), 40)].map((s) => s.id);
    const storiesCheckedThroughApi = await checkApiAgreesWithSql(pool, fleet.live(), apiStories, violations);

    await fleet.stopAll(10_000);
    for (const exit of fleet.unexpectedExits) violations.add('serve process died on its own', exit);
    const logs = readServerLogs(fleet.incarnations);
    const calls = await accountForCalls(pool, model.calls, fleet.incarnations, logs, violations);

    Object.assign(report, {
      loadMs,
      operations: options.operations - budget.remaining,
      requests: stats.total,
      opsPerSecond: (options.operations - budget.remaining) / (loadMs / 1000),
      calls,
      serverErrors: logs.errorMessages,
      orphanedTurnsTakenOver,
      storiesCheckedThroughApi,
      effects,
      watched,
      scenesOnArchivedStories,
    });
  } finally {
    if (scrapeTimer) clearInterval(scrapeTimer);
    await faults?.stop().catch(() => {});
    await watchers?.stop().catch(() => {});
    await fleet.stopAll(5_000).catch(() => {});
    await model.close().catch(() => {});
    await proxy.close().catch(() => {});
    await pool.end().catch(() => {});
    await admin.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`).catch((error: unknown) => log(`could not drop ${databaseName}: ${(error as Error).message}`));
    await admin.end().catch(() => {});
  }
  // Server logs are kept only when something went wrong.
  const runLogDir = path.join(options.logDir, databaseName);
  if (violations.total === 0) fs.rmSync(runLogDir, { recursive: true, force: true });
  else log(`server logs kept in ${runLogDir}`);
  return {
    options,
    databaseName,
    loadMs: report.loadMs ?? 0,
    operations: report.operations ?? 0,
    requests: report.requests ?? stats.total,
    opsPerSecond: report.opsPerSecond ?? 0,
    stats,
    turnAnswers: book.how,
    faults: faults?.events ?? [],
    incarnations: fleet.incarnations.length,
    kills: fleet.incarnations.filter((i) => i.killed).length,
    metrics: scraper.totals(),
    calls: report.calls,
    serverErrors: report.serverErrors ?? new Map(),
    orphanedTurnsTakenOver: report.orphanedTurnsTakenOver ?? 0,
    storiesCheckedThroughApi: report.storiesCheckedThroughApi ?? 0,
    effects: report.effects,
    watched: report.watched,
    lostCommitReplies: proxy.lostCommits,
    leftMidTurn: book.leftMidTurn,
    archives: book.archiveWindows.length,
    scenesOnArchivedStories: report.scenesOnArchivedStories ?? 0,
    violations,
  };
}
