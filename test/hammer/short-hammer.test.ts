import os from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { formatReport } from '../../scripts/hammer/format-report.js';
import { runHammer, type HammerOptions } from '../../scripts/hammer/run-hammer.js';

/**
 * The short, bounded hammer (DESIGN §4 under load and faults): 2 serve processes × 20
 * clients × 800 operations at each isolation level, with SIGKILLs mid-generation,
 * pg_terminate_backend, model hangs and garbage, lost COMMIT replies, killed LISTEN
 * connections, SIGTERM during imports, clients leaving mid-turn and archives during turns.
 * Any violation (a duplicate effect of a retried request, an event missed by a watcher that
 * reconnects with Last-Event-ID, …) fails the test; the report names each one. The long
 * version is `npm run hammer`.
 */

const isolations: HammerOptions['isolation'][] = ['read committed', 'serializable'];

describe('short hammer: two serve processes on one PostgreSQL under load and faults', () => {
  it.each(isolations)('%s: every invariant holds, every call is accounted for, every answer is clear', async (isolation) => {
    const report = await runHammer({
      isolation,
      processes: 2,
      clients: 20,
      operations: 800,
      faults: true,
      allowPgRestart: false,
      hotStories: 3,
      coldStories: 20,
      seed: Number(process.env['HAMMER_SEED'] ?? 20_240_611),
      // The load is bounded by its operations; the time bound only stops a run that is stuck (a loaded machine runs it slower).
      maxLoadMs: 150_000,
      adminUrl: inject('pgAdminUrl'),
      modelLatencyMs: [50, 400],
      baselineModelFaults: { hangRate: 0.02, garbageRate: 0.04 },
      leaseMs: 3_000,
      llmTimeoutMs: 1_200,
      poolSize: 4,
      // Short enough that every kind of fault happens while a fast machine runs the load.
      faultIntervalMs: 600,
      logDir: path.join(os.tmpdir(), 'livingworld-hammer'),
      log: () => {},
    });
    const summary = formatReport(report).join('\n');
    console.log(summary);
    // The faults really happened, and the load really ran.
    expect(report.kills, summary).toBeGreaterThanOrEqual(1);
    expect(report.faults.map((f) => f.kind), summary).toEqual(
      expect.arrayContaining(['kill-mid-generation', 'terminate-backends', 'model-burst', 'lose-commit-reply', 'kill-listen', 'sigterm-during-imports']),
    );
    expect(report.effects?.duplicateEffects, summary).toBe(0);
    expect(report.watched?.missed, summary).toBe(0);
    expect(report.operations, summary).toBeGreaterThanOrEqual(800);
    expect(report.calls, summary).toBeDefined();
    expect(report.violations.lines(), summary).toEqual([]);
  }, 330_000);
});
