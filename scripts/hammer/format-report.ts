import type { HammerReport } from './run-hammer.js';

/** The summary of one run as Markdown-friendly plain lines. */
export function formatReport(report: HammerReport): string[] {
  const { options, stats, metrics, calls } = report;
  const metric = (name: string, label: string) => [...metrics].filter(([k]) => k.startsWith(`${name}{`) && k.includes(label)).reduce((s, [, v]) => s + v, 0);
  const retries = [...metrics].filter(([k]) => k.startsWith('livingworld_transaction_retries_total{'));
  const events = [...metrics].filter(([k]) => k.startsWith('livingworld_turn_events_total{'));
  const conflicts = stats.count((_op, outcome) => outcome === '409:turn_conflict');
  const lines = [
    `### ${options.isolation} — ${options.processes} processes × ${options.clients} clients × ${options.operations} operations, faults ${options.faults ? 'on' : 'off'}${options.allowPgRestart ? ' (with a PostgreSQL restart)' : ''}`,
    '',
    `- database ${report.databaseName}, seed ${options.seed}`,
    `- ${report.operations} operations (${report.requests} HTTP requests) in ${(report.loadMs / 1000).toFixed(1)} s: **${report.opsPerSecond.toFixed(1)} ops/s** (${(report.requests / (report.loadMs / 1000)).toFixed(1)} requests/s)`,
    `- turn answers (201): ${[...report.turnAnswers].map(([how, n]) => `${how} ${n}`).join(', ') || 'none'}; 409 turn_conflict: ${conflicts}`,
    `- turn events (/metrics, summed over ${report.incarnations} incarnations, lower bound for killed ones): ${events.map(([k, v]) => `${/event="([^"]+)"/.exec(k)?.[1]} ${v}`).join(', ') || 'none'}`,
    `- joins: ${metric('livingworld_turn_events_total', 'event="joined"')}; transaction retries: ${retries.reduce((s, [, v]) => s + v, 0)} (${retries.map(([k, v]) => `${/sqlstate="([^"]+)"/.exec(k)?.[1]} ${v}`).join(', ') || 'none'})`,
    `- faults: ${report.faults.length} (${countBy(report.faults.map((f) => f.kind))}); processes SIGKILLed: ${report.kills}; orphaned turns taken over at the end: ${report.orphanedTurnsTakenOver}`,
    `- stories checked API against SQL: ${report.storiesCheckedThroughApi}`,
    `- lost COMMIT replies: ${report.lostCommitReplies}; keyed writes ${report.effects?.keyedWrites ?? 0}, sent again after an unknown outcome ${report.effects?.retried ?? 0}, **duplicate effects ${report.effects?.duplicateEffects ?? 'not checked'}**`,
    `- clients that left mid-turn: ${report.leftMidTurn}; archives during turns: ${report.archives}, scenes written on an archived story: ${report.scenesOnArchivedStories}`,
    `- event watchers (Last-Event-ID on reconnect): ${report.watched ? `${report.watched.watchers} watchers, ${report.watched.events} events, ${report.watched.reconnects} reconnects, ${report.watched.resyncs} resyncs, **missed events ${report.watched.missed}**` : 'not checked'}`,
  ];
  if (calls) {
    const failed = [...calls.recordedByFailed].map(([code, n]) => `${code} ${n}`).join(', ') || 'none';
    lines.push(
      `- model calls received: ${calls.received} = scene ${calls.scene} + re-ask ${calls.repair} + talk ${calls.talk} + summary ${calls.summary} + reflection ${calls.reflection}; injected hangs ${calls.hangs}, garbage ${calls.garbage}`,
      `- accounted: scenes written ${calls.scenesFromCalls}; recorded by turns ${calls.recordedByTurns} (succeeded ${calls.recordedBySucceeded}, failed: ${failed}); provider retries after a hang ${calls.retriesAfterHang}; lost with a killed process ${calls.lostWithKilledProcess}; lost with a lease ${calls.lostWithLease}; counted by a process lost before sending ${calls.countedNeverSent}; talk replies stored ${calls.conversations}`,
      `- background jobs: calls recorded summary ${calls.recordedByJobs.summary}, reflection ${calls.recordedByJobs.reflection}; stored ${calls.summariesStored} summaries, ${calls.reflectionsStored} reflections`,
    );
  }
  if (report.serverErrors.size > 0) {
    lines.push(`- server error log lines: ${[...report.serverErrors].map(([msg, n]) => `${n}× ${msg}`).join('; ')}`);
  }
  lines.push(`- **violations: ${report.violations.total}**`, ...report.violations.lines().map((l) => `  - ${l}`), '', '```', ...stats.lines(), '```');
  return lines;
}

function countBy(items: string[]): string {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${k} ${n}`).join(', ');
}
