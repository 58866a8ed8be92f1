import type pg from 'pg';
import type { ApiTarget } from './api-client.js';
import type { Violations } from './violations.js';

/**
 * Clients that watch a story's event stream for the whole run, as the web UI does: when the
 * stream ends (its process killed or stopped, a connection cut) they reconnect to any live
 * process with Last-Event-ID. Every event id is a story version; a version skipped without a
 * `resync` is an event missed. At the end each watcher must have reached the story's version.
 */

interface Watcher {
  storyId: string;
  /** The last version the stream brought this client to. */
  version: number | undefined;
  missed: number;
  reconnects: number;
  resyncs: number;
  events: number;
  controller: AbortController | undefined;
}

export interface WatchAccount {
  watchers: number;
  events: number;
  reconnects: number;
  resyncs: number;
  missed: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class EventWatchers {
  readonly #watchers: Watcher[] = [];
  readonly #loops: Promise<void>[] = [];
  #stopped = false;

  constructor(private readonly pickTarget: () => ApiTarget) {}

  watch(storyId: string): void {
    const watcher: Watcher = { storyId, version: undefined, missed: 0, reconnects: 0, resyncs: 0, events: 0, controller: undefined };
    this.#watchers.push(watcher);
    this.#loops.push(this.#run(watcher));
  }

  async #run(watcher: Watcher): Promise<void> {
    while (!this.#stopped) {
      const controller = new AbortController();
      watcher.controller = controller;
      try {
        await this.#readStream(watcher, this.pickTarget(), controller.signal);
      } catch {
        // The stream broke (a kill, a stop, a cut connection): reconnect below.
      }
      if (this.#stopped) break;
      watcher.reconnects++;
      await sleep(100);
    }
  }

  async #readStream(watcher: Watcher, target: ApiTarget, signal: AbortSignal): Promise<void> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (watcher.version !== undefined) headers['last-event-id'] = String(watcher.version);
    const response = await fetch(`${target.url}/api/stories/${watcher.storyId}/events`, { headers, signal });
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      return;
    }
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        this.#onBlock(watcher, buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  }

  #onBlock(watcher: Watcher, block: string): void {
    const event = /^event: (.*)$/m.exec(block)?.[1];
    const id = /^id: (\d+)$/m.exec(block)?.[1];
    if (!event || id === undefined) return;
    const version = Number(id);
    watcher.events++;
    if (event === 'resync') watcher.resyncs++;
    // `ready` and `resync` bring the client to the version they name; a scene or head event must be the next one.
    if ((event === 'scene' || event === 'head') && watcher.version !== undefined && version > watcher.version + 1) watcher.missed += version - watcher.version - 1;
    if (watcher.version === undefined || version > watcher.version) watcher.version = version;
  }

  /** Ends every stream without checking (a run that failed before its checks). */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const watcher of this.#watchers) watcher.controller?.abort();
    await Promise.allSettled(this.#loops);
  }

  /** Lets the streams catch up, stops them, and checks each reached its story's version. */
  async finish(pool: pg.Pool, violations: Violations): Promise<WatchAccount> {
    const { rows } = await pool.query<{ id: string; version: number }>(`SELECT id, version::int AS version FROM stories WHERE id = ANY($1::uuid[])`, [
      this.#watchers.map((w) => w.storyId),
    ]);
    const finalVersion = new Map(rows.map((r) => [r.id, r.version]));
    for (let waited = 0; waited < 10_000 && this.#watchers.some((w) => (w.version ?? -1) < (finalVersion.get(w.storyId) ?? 0)); waited += 200) await sleep(200);
    this.#stopped = true;
    for (const watcher of this.#watchers) watcher.controller?.abort();
    await Promise.allSettled(this.#loops);
    for (const watcher of this.#watchers) {
      const behind = (finalVersion.get(watcher.storyId) ?? 0) - (watcher.version ?? 0);
      if (behind > 0) watcher.missed += behind;
      if (watcher.missed > 0) {
        violations.add('event watcher missed events', `story ${watcher.storyId}: ${watcher.missed} versions never delivered (${watcher.reconnects} reconnects, ${watcher.resyncs} resyncs)`);
      }
    }
    const sum = (pick: (w: Watcher) => number) => this.#watchers.reduce((s, w) => s + pick(w), 0);
    return { watchers: this.#watchers.length, events: sum((w) => w.events), reconnects: sum((w) => w.reconnects), resyncs: sum((w) => w.resyncs), missed: sum((w) => w.missed) };
  }
}
