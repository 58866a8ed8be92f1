import os from 'node:os';
import path from 'node:path';
import type { HammerOptions } from './run-hammer.js';

/**
 * Parameters of a hammer run, from `--name value` arguments or HAMMER_* variables.
 * Defaults are the long version; the short test passes its own.
 */

export interface HammerPlan {
  isolations: HammerOptions['isolation'][];
  base: Omit<HammerOptions, 'isolation' | 'log'>;
  resultsFile: string | undefined;
}

function argument(argv: string[], name: string, env: string, fallback: string): string {
  const at = argv.indexOf(`--${name}`);
  if (at >= 0 && argv[at + 1] !== undefined) return argv[at + 1]!;
  return process.env[env] ?? fallback;
}

function integer(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number (got ${value})`);
  return n;
}

export function parseHammerPlan(argv: string[]): HammerPlan {
  const get = (name: string, fallback: string) => argument(argv, name, `HAMMER_${name.toUpperCase().replace(/-/g, '_')}`, fallback);
  const isolation = get('isolation', 'both');
  const isolations: HammerOptions['isolation'][] =
    isolation === 'both' ? ['read committed', 'serializable'] : isolation === 'serializable' ? ['serializable'] : ['read committed'];
  const operations = integer(get('operations', '10000'), 'operations');
  return {
    isolations,
    resultsFile: argv.includes('--no-results') ? undefined : get('results', 'hammer/results/latest.md'),
    base: {
      processes: integer(get('processes', '2'), 'processes'),
      clients: integer(get('clients', '100'), 'clients'),
      operations,
      faults: get('faults', 'on') !== 'off',
      allowPgRestart: process.env['HAMMER_ALLOW_PG_RESTART'] === '1',
      hotStories: integer(get('hot', '4'), 'hot'),
      coldStories: integer(get('cold', String(Math.min(150, Math.max(20, Math.floor(operations / 60))))), 'cold'),
      seed: integer(get('seed', String(Date.now() % 100_000)), 'seed'),
      maxLoadMs: integer(get('max-load-ms', '900000'), 'max-load-ms'),
      adminUrl: process.env['HAMMER_ADMIN_URL'] ?? process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres',
      modelLatencyMs: [integer(get('latency-min-ms', '20'), 'latency-min-ms'), integer(get('latency-max-ms', '150'), 'latency-max-ms')],
      baselineModelFaults: { hangRate: Number(get('hang-rate', '0.02')), garbageRate: Number(get('garbage-rate', '0.04')) },
      leaseMs: integer(get('lease-ms', '3000'), 'lease-ms'),
      llmTimeoutMs: integer(get('llm-timeout-ms', '1200'), 'llm-timeout-ms'),
      poolSize: integer(get('pool-size', '5'), 'pool-size'),
      faultIntervalMs: integer(get('fault-interval-ms', '4000'), 'fault-interval-ms'),
      logDir: get('log-dir', path.join(os.tmpdir(), 'livingworld-hammer')),
    },
  };
}

export function describePlan(plan: HammerPlan): string {
  const b = plan.base;
  return [
    `hammer: ${b.processes} processes × ${b.clients} clients × ${b.operations} operations per isolation (${plan.isolations.join(', ')})`,
    `  faults ${b.faults ? 'on' : 'off'} every ~${b.faultIntervalMs} ms (SIGKILL mid-generation, terminated connections, model bursts, lost COMMIT replies, killed LISTEN, SIGTERM during imports); PostgreSQL restart ${b.allowPgRestart ? 'ALLOWED' : 'off (HAMMER_ALLOW_PG_RESTART=1 enables it)'}`,
    `  stories: ${b.hotStories} hot, ${b.coldStories} cold; model latency ${b.modelLatencyMs[0]}–${b.modelLatencyMs[1]} ms, hangs ${b.baselineModelFaults.hangRate}, garbage ${b.baselineModelFaults.garbageRate}`,
    `  lease ${b.leaseMs} ms, model timeout ${b.llmTimeoutMs} ms, pool ${b.poolSize} per process, load limit ${b.maxLoadMs} ms, seed ${b.seed}`,
    `  database server ${b.adminUrl.replace(/:[^:@/]*@/, ':***@')}; logs under ${b.logDir}`,
  ].join('\n');
}
