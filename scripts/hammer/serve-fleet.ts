import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The `livingworld serve` processes under test. Each slot runs one process at a time; every
 * start is a new incarnation with its own name (used as the model URL prefix, so the fake
 * model tells processes apart) and its own log file.
 */

export interface Incarnation {
  name: string;
  slot: number;
  pid: number;
  url: string;
  startedAt: number;
  /** Set when the hammer killed it (SIGKILL) or stopped it. */
  endedAt: number | undefined;
  killed: boolean;
  /** Died without the hammer killing or stopping it (a bug; reported as a violation). */
  crashed: boolean;
  logFile: string;
}

export interface FleetOptions {
  slots: number;
  cliEntry: string;
  env: NodeJS.ProcessEnv;
  modelBaseUrl: (incarnation: string) => string;
  /** The database URL of a slot (one slot may reach PostgreSQL through the lost-reply proxy). */
  databaseUrlFor?: (slot: number) => string;
  logDir: string;
  startTimeoutMs: number;
}

export class ServeFleet {
  readonly incarnations: Incarnation[] = [];
  /** Processes that died without the hammer killing or stopping them. */
  readonly unexpectedExits: string[] = [];
  #stopping = false;
  readonly #current = new Map<number, { incarnation: Incarnation; child: ChildProcess }>();
  readonly #options: FleetOptions;
  #counter = 0;

  constructor(options: FleetOptions) {
    this.#options = options;
    fs.mkdirSync(options.logDir, { recursive: true });
  }

  /** The live processes a client may talk to. */
  live(): Incarnation[] {
    return [...this.#current.values()].map((entry) => entry.incarnation);
  }

  isLive(slot: number): boolean {
    return this.#current.has(slot);
  }

  byName(name: string): Incarnation | undefined {
    return this.incarnations.find((i) => i.name === name);
  }

  async startAll(): Promise<void> {
    await Promise.all(Array.from({ length: this.#options.slots }, (_, slot) => this.start(slot)));
  }

  /** Starts the slot's process and waits for its "listening on" line. */
  async start(slot: number): Promise<Incarnation> {
    if (this.#current.has(slot)) throw new Error(`slot ${slot} is already running`);
    const name = `s${slot}r${++this.#counter}`;
    const logFile = path.join(this.#options.logDir, `${name}.log`);
    const log = fs.openSync(logFile, 'w');
    const child = spawn(process.execPath, ['--import', 'tsx', this.#options.cliEntry, 'serve', '--port', '0', '--host', '127.0.0.1'], {
      env: {
        ...this.#options.env,
        OPENAI_BASE_URL: this.#options.modelBaseUrl(name),
        ...(this.#options.databaseUrlFor ? { DATABASE_URL: this.#options.databaseUrlFor(slot) } : {}),
      },
      stdio: ['ignore', 'pipe', log],
    });
    fs.closeSync(log);
    const url = await new Promise<string>((resolve, reject) => {
      let stdout = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${name} did not start within ${this.#options.startTimeoutMs} ms; see ${logFile}`));
      }, this.#options.startTimeoutMs);
      child.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        fs.appendFileSync(logFile, chunk);
        const match = /LivingWorld listening on (http:\/\/\S+)/.exec(stdout);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited with ${code ?? signal} before listening; see ${logFile}`));
      });
    });
    // Keep draining stdout into the log so the pipe never fills.
    child.stdout!.removeAllListeners('data');
    child.stdout!.on('data', (chunk: Buffer) => fs.appendFileSync(logFile, chunk));
    const incarnation: Incarnation = { name, slot, pid: child.pid!, url, startedAt: Date.now(), endedAt: undefined, killed: false, crashed: false, logFile };
    child.once('exit', (code, signal) => {
      if (!incarnation.killed && !this.#stopping) {
        incarnation.crashed = true;
        this.unexpectedExits.push(`${name} (pid ${incarnation.pid}) exited with ${code ?? signal}; see ${logFile}`);
        // Like a supervisor would: bring the slot back so the run goes on (the crash stays reported).
        setTimeout(() => {
          if (!this.#stopping && !this.#current.has(slot)) this.start(slot).catch(() => {});
        }, 500);
      }
      incarnation.endedAt ??= Date.now();
      if (this.#current.get(slot)?.child === child) this.#current.delete(slot);
    });
    this.incarnations.push(incarnation);
    this.#current.set(slot, { incarnation, child });
    return incarnation;
  }

  /** SIGKILL: no shutdown hook runs, leases stay behind for another process to take over. */
  async kill(slot: number): Promise<Incarnation | undefined> {
    const entry = this.#current.get(slot);
    if (!entry) return undefined;
    entry.incarnation.killed = true;
    entry.incarnation.endedAt = Date.now();
    this.#current.delete(slot);
    const exited = new Promise<void>((resolve) => entry.child.once('exit', () => resolve()));
    entry.child.kill('SIGKILL');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    return entry.incarnation;
  }

  /**
   * SIGTERM to one slot: the process shuts down gracefully (its own grace period). Marked like
   * a kill, so that other clients' requests it refuses or cuts are its consequence, not violations.
   */
  async terminate(slot: number, timeoutMs: number): Promise<{ incarnation: Incarnation; exitCode: number | null } | undefined> {
    const entry = this.#current.get(slot);
    if (!entry) return undefined;
    entry.incarnation.killed = true;
    // From the signal on, connections to it may be refused.
    entry.incarnation.endedAt = Date.now();
    this.#current.delete(slot);
    const exited = new Promise<number | null>((resolve) => entry.child.once('exit', (code) => resolve(code)));
    entry.child.kill('SIGTERM');
    const timer = setTimeout(() => entry.child.kill('SIGKILL'), timeoutMs);
    const exitCode = await exited;
    clearTimeout(timer);
    return { incarnation: entry.incarnation, exitCode };
  }

  /** Graceful stop (SIGTERM), then SIGKILL for anything still running after `graceMs`. */
  async stopAll(graceMs: number): Promise<void> {
    this.#stopping = true;
    const entries = [...this.#current.values()];
    this.#current.clear();
    await Promise.all(
      entries.map(async ({ incarnation, child }) => {
        incarnation.endedAt = Date.now();
        const exited = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}
