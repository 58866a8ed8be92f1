import { randomUUID } from 'node:crypto';
import { largeStoryArchive } from './large-archive.js';
import type pg from 'pg';
import { callApi, type ApiResult } from './api-client.js';
import { outcomeOf } from './judge-result.js';
import type { Random } from './random.js';
import type { ServeFleet } from './serve-fleet.js';
import type { StoryBook } from './story-book.js';
import type { Violations } from './violations.js';

/**
 * The SIGTERM fault: keyed imports (each a large file with a title of its own) are sent to one
 * process, which is sent SIGTERM while they are in flight. Each must be answered 201 or 503
 * shutting_down — never a cut connection — and the stories written must be exactly the 201s.
 * Then every import is sent again with its key to a live process: one story per import, no more.
 */

export interface SigtermImportOptions {
  fleet: ServeFleet;
  pool: pg.Pool;
  book: StoryBook;
  random: Random;
  violations: Violations;
  /** The grace the serve processes were given, plus the time to close. */
  stopTimeoutMs: number;
}

// A few MB each, so that they are still being read and written when the signal arrives.
const importsPerFault = 4;
const importBytes = 2_500_000;

async function storiesTitled(pool: pg.Pool, title: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM stories WHERE title = $1', [title]);
  return rows[0]!.n;
}

export async function sigtermDuringImports(options: SigtermImportOptions): Promise<string> {
  const { fleet, pool, book, random, violations } = options;
  const live = fleet.live();
  if (live.length < 2) return 'skipped: fewer than two processes live';
  const victim = random.pick(live);
  const imports = Array.from({ length: importsPerFault }, () => ({ title: book.nextTitle('sigterm-import'), key: `hk-sigterm-${randomUUID()}` }));
  const files = imports.map((i) => largeStoryArchive(i.title, importBytes));
  const send = (target: typeof victim, i: number): Promise<ApiResult> =>
    callApi(target, { method: 'POST', path: '/api/import?filename=harbour.json', rawBody: files[i]!, contentType: 'application/json', headers: { 'idempotency-key': imports[i]!.key }, timeoutMs: 60_000 });
  const sending = imports.map((_, i) => send(victim, i));
  await new Promise((resolve) => setTimeout(resolve, 50 + random.int(400)));
  const stopped = await fleet.terminate(victim.slot, options.stopTimeoutMs);
  const answers = await Promise.all(sending);
  if (stopped && stopped.exitCode !== 0) violations.add('SIGTERM: process did not exit 0', `${victim.name} exited ${stopped.exitCode}`);
  let written = 0;
  for (const [i, answer] of answers.entries()) {
    const outcome = outcomeOf(answer);
    const stories = await storiesTitled(pool, imports[i]!.title);
    written += stories;
    if (outcome !== '201' && outcome !== '503:shutting_down') {
      violations.add('SIGTERM: import answered neither 201 nor 503 shutting_down', `${victim.name}: ${outcome} ${String(answer.body).slice(0, 200)}`);
    }
    if ((outcome === '201') !== (stories === 1) || stories > 1) {
      violations.add('SIGTERM: stories written are not the 201s', `${victim.name}: "${imports[i]!.title}" answered ${outcome}, ${stories} stories`);
    }
  }
  const restarted = await fleet.start(victim.slot);
  // Every client sends its import again with its key: one story each, the 201s replayed.
  for (const [i, imported] of imports.entries()) {
    const again = await send(fleet.live().find((t) => t.slot !== victim.slot) ?? restarted, i);
    const stories = await storiesTitled(pool, imported.title);
    if (again.status !== 201 || stories !== 1) violations.add('SIGTERM: a resent import did not leave exactly one story', `"${imported.title}": ${outcomeOf(again)}, ${stories} stories`);
    if (answers[i]!.status === 201 && again.body?.storyId !== answers[i]!.body?.storyId) violations.add('SIGTERM: a resent import got another answer', `"${imported.title}"`);
  }
  const outcomes = answers.map(outcomeOf);
  return `SIGTERM ${victim.name} with ${importsPerFault} imports in flight: ${outcomes.filter((o) => o === '201').length}×201, ${outcomes.filter((o) => o === '503:shutting_down').length}×503 shutting_down, ${written} written; restarted as ${restarted.name}`;
}
