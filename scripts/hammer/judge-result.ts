import type { ApiResult } from './api-client.js';
import type { OpStats } from './op-stats.js';
import type { Violations } from './violations.js';

/**
 * Decides whether one answer is acceptable for its operation. An answer is a status and
 * error code from the operation's expected set; errors caused by the injected faults
 * (database_unavailable, and for model operations llm_unavailable / llm_bad_output) are
 * tolerated and counted; a lost connection is tolerated only when the hammer killed that
 * process during the request. Anything else is a violation: 500, another 5xx for invalid input,
 * an error without a JSON code, a hang.
 */

export interface JudgeContext {
  stats: OpStats;
  violations: Violations;
  /** Whether the hammer killed this incarnation between the two times. */
  killedDuring(incarnation: string, fromMs: number, toMs: number): boolean;
}

export type Verdict = 'ok' | 'fault' | 'killed' | 'violation';

// shutting_down: a process stopped by SIGTERM refused the request before writing anything.
const faultErrors = new Set(['503:database_unavailable', '503:shutting_down']);
const modelFaultErrors = new Set(['503:llm_unavailable', '502:llm_bad_output']);

export function outcomeOf(result: ApiResult): string {
  if (result.transport) return result.transport;
  return result.errorCode ? `${result.status}:${result.errorCode}` : String(result.status);
}

export function judge(
  ctx: JudgeContext,
  op: string,
  result: ApiResult,
  expected: readonly string[],
  options: { callsModel?: boolean; invalidInput?: boolean } = {},
): Verdict {
  const outcome = outcomeOf(result);
  ctx.stats.record(op, outcome, result.elapsedMs);
  const where = `${op} → ${outcome} on ${result.target.name} after ${result.elapsedMs} ms`;
  if (result.transport === 'connection') {
    if (ctx.killedDuring(result.target.name, result.startedAt, Date.now())) return 'killed';
    ctx.violations.add('connection lost without a kill', `${where}: ${String(result.body).slice(0, 200)}`);
    return 'violation';
  }
  if (result.transport === 'timeout') {
    if (ctx.killedDuring(result.target.name, result.startedAt, Date.now())) return 'killed';
    ctx.violations.add('request hung past the client timeout', where);
    return 'violation';
  }
  if (result.malformed) {
    ctx.violations.add('error answer without a JSON error code', `${where}: ${result.malformed}`);
    return 'violation';
  }
  if (expected.includes(outcome) || expected.includes(String(result.status))) return 'ok';
  // Input that can only be judged against the database (an unknown scene, a story the user may
  // not see) cannot be judged while the database is down: 503 database_unavailable is then the
  // clear answer, and it comes only from the injected faults.
  if (options.invalidInput && faultErrors.has(outcome)) return 'fault';
  if (result.status >= 500 && options.invalidInput) {
    ctx.violations.add('5xx on invalid input', where);
    return 'violation';
  }
  if (result.status === 500) {
    ctx.violations.add('500 internal error', `${where}: ${JSON.stringify(result.body).slice(0, 300)}`);
    return 'violation';
  }
  if (faultErrors.has(outcome) || (options.callsModel && modelFaultErrors.has(outcome))) return 'fault';
  ctx.violations.add('unexpected status', `${where} (expected ${expected.join(', ')}): ${JSON.stringify(result.body).slice(0, 300)}`);
  return 'violation';
}
