import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type pg from 'pg';
import type { FakeModelServer, ModelFaultRates } from './fake-model-server.js';
import type { Random } from './random.js';
import type { ServeFleet } from './serve-fleet.js';
import type { LostReplyProxy } from './lost-reply-proxy.js';

/**
 * Faults injected while the clients run, in a fixed rotation so that every kind happens in
 * every run: SIGKILL of a serve process while the model is writing for it (then a restart),
 * pg_terminate_backend on the servers' connections, a burst of model hangs and garbage, a lost
 * COMMIT reply (through the proxy in front of one process), the LISTEN connections killed,
 * SIGTERM while imports are in flight, and, only when allowed, a restart of the PostgreSQL
 * cluster. After each one the caller's check runs.
 */

export type FaultKind =
  | 'kill-mid-generation'
  | 'terminate-backends'
  | 'model-burst'
  | 'lose-commit-reply'
  | 'kill-listen'
  | 'sigterm-during-imports'
  | 'pg-restart';

export interface FaultEvent {
  kind: FaultKind;
  at: number;
  detail: string;
}

export interface FaultInjectorOptions {
  fleet: ServeFleet;
  model: FakeModelServer;
  admin: pg.Pool;
  databaseName: string;
  random: Random;
  baselineModelFaults: ModelFaultRates;
  intervalMs: number;
  allowPgRestart: boolean;
  /** In front of one process's database connections: loses COMMIT replies on demand. */
  proxy: LostReplyProxy | undefined;
  /** The SIGTERM-during-imports fault (it needs the clients' view: see sigterm-imports.ts). */
  sigtermDuringImports: () => Promise<string>;
  afterFault: (event: FaultEvent) => Promise<void>;
}

const execFileAsync = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class FaultInjector {
  readonly events: FaultEvent[] = [];
  #stopped = false;
  #loop: Promise<void> | undefined;

  constructor(private readonly options: FaultInjectorOptions) {}

  start(): void {
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
  }

  async #run(): Promise<void> {
    // The quick faults and the new edges early, so that a short run meets every kind.
    const rotation: FaultKind[] = [
      'lose-commit-reply',
      'kill-listen',
      'model-burst',
      'kill-mid-generation',
      'terminate-backends',
      'sigterm-during-imports',
      'lose-commit-reply',
      'model-burst',
      'kill-listen',
      'terminate-backends',
      'kill-mid-generation',
    ];
    let pgRestarted = false;
    for (let round = 0; !this.#stopped && round < 10_000; round++) {
      await this.#pause(this.options.intervalMs * (0.5 + this.options.random.next()));
      if (this.#stopped) break;
      // One cluster restart per run, a few faults in, when the caller allows it.
      const kind: FaultKind = this.options.allowPgRestart && !pgRestarted && round === 4 ? 'pg-restart' : rotation[round % rotation.length]!;
      if (kind === 'pg-restart') pgRestarted = true;
      const detail = await this.#inject(kind).catch((error: unknown) => `failed to inject: ${(error as Error).message}`);
      const event = { kind, at: Date.now(), detail };
      this.events.push(event);
      await this.options.afterFault(event);
    }
  }

  async #pause(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (!this.#stopped && Date.now() < until) await sleep(Math.min(100, until - Date.now()));
  }

  async #inject(kind: FaultKind): Promise<string> {
    switch (kind) {
      case 'kill-mid-generation':
        return this.#killMidGeneration();
      case 'terminate-backends':
        return this.#terminateBackends();
      case 'model-burst':
        return this.#modelBurst();
      case 'lose-commit-reply':
        return this.#loseCommitReply();
      case 'kill-listen':
        return this.#killListen();
      case 'sigterm-during-imports':
        return this.options.sigtermDuringImports();
      case 'pg-restart':
        return this.#restartPostgres();
    }
  }

  /** Arms the proxy to lose the reply of the next keyed write's or turn's COMMIT; waits (bounded) until it did. */
  async #loseCommitReply(): Promise<string> {
    const { proxy } = this.options;
    if (!proxy) return 'skipped: no lost-reply proxy';
    const before = proxy.lostCommits;
    const lost = proxy.loseNextCommit(/INSERT INTO idempotency_keys|status = 'succeeded'|INSERT INTO turns/);
    await Promise.race([lost, this.#pause(5_000)]);
    return proxy.lostCommits > before ? `lost a COMMIT reply (${proxy.lostCommits} so far)` : 'armed; no matching COMMIT within 5 s (still armed)';
  }

  /** Kills the servers' LISTEN connections: event streams must catch up (resync), not skip. */
  async #killListen(): Promise<string> {
    const { rows } = await this.options.admin.query<{ pid: number }>(
      `SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = $1 AND query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()`,
      [this.options.databaseName],
    );
    return `terminated ${rows.length} LISTEN connections`;
  }

  /** Waits (bounded) until the model is writing for some process, SIGKILLs it, restarts the slot. */
  async #killMidGeneration(): Promise<string> {
    const { fleet, model, random } = this.options;
    const live = fleet.live();
    if (live.length < 2) return 'skipped: fewer than two processes live';
    let victim = live.find((i) => model.inFlight(i.name).length > 0);
    for (let waited = 0; !victim && waited < 3_000 && !this.#stopped; waited += 20) {
      await sleep(20);
      victim = fleet.live().find((i) => model.inFlight(i.name).length > 0);
    }
    victim ??= random.pick(live);
    const inFlight = model.inFlight(victim.name).length;
    await fleet.kill(victim.slot);
    await sleep(300 + random.int(1_200));
    const next = await fleet.start(victim.slot);
    return `SIGKILL ${victim.name} (pid ${victim.pid}) with ${inFlight} model calls in flight; restarted as ${next.name}`;
  }

  async #terminateBackends(): Promise<string> {
    const { rows } = await this.options.admin.query<{ pid: number }>(
      `SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = $1 AND application_name = 'livingworld-serve' AND pid <> pg_backend_pid()
        ORDER BY random() LIMIT $2`,
      [this.options.databaseName, 1 + this.options.random.int(4)],
    );
    return `terminated ${rows.length} server connections`;
  }

  async #modelBurst(): Promise<string> {
    const { model, baselineModelFaults, random } = this.options;
    model.faults = { hangRate: 0.25, garbageRate: 0.3 };
    await this.#pause(1_000 + random.int(1_500));
    model.faults = { ...baselineModelFaults };
    return 'model hangs 25% and garbage 30% for 1–2.5 s';
  }

  /** Restarts the shared cluster (only with HAMMER_ALLOW_PG_RESTART=1) and waits until it answers. */
  async #restartPostgres(): Promise<string> {
    const started = Date.now();
    await execFileAsync('pg_ctlcluster', ['--skip-systemctl-redirect', '15', 'main', 'restart'], { timeout: 120_000 });
    for (let attempt = 0; attempt < 120; attempt++) {
      try {
        await this.options.admin.query('SELECT 1');
        return `PostgreSQL restarted and ready after ${Date.now() - started} ms`;
      } catch {
        await sleep(500);
      }
    }
    throw new Error('PostgreSQL did not come back within 60 s');
  }
}
