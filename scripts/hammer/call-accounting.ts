import fs from 'node:fs';
import type pg from 'pg';
import type { ModelCall } from './fake-model-server.js';
import type { Incarnation } from './serve-fleet.js';
import type { Violations } from './violations.js';

/**
 * Compares the model calls the fake server received with what the database says they
 * produced. Every scene written by a turn names the call that wrote it; every call is either
 * a scene, a documented extra (corrective re-ask, talk reply, a turn that failed or was
 * cancelled — all recorded in turns.model_calls, provider retries after a hang included), or lost with
 * a process the hammer killed or a lease the process lost (logged). Nothing may be left over,
 * and no two generations of one story may be in flight at once. Background jobs' calls
 * (summary, reflection) are recorded per job claim in model_call_counts before they are
 * made; each job's effect lands once: one summary per job scene, each reflection group from
 * one call, no answer stored twice.
 */

export interface CallAccount {
  received: number;
  scene: number;
  repair: number;
  talk: number;
  summary: number;
  reflection: number;
  /** model_call_counts of the background purposes (recorded per claim, before each call). */
  recordedByJobs: { summary: number; reflection: number };
  summariesStored: number;
  reflectionsStored: number;
  retriesAfterHang: number;
  hangs: number;
  garbage: number;
  recordedByTurns: number;
  recordedBySucceeded: number;
  recordedByFailed: Map<string, number>;
  scenesFromCalls: number;
  conversations: number;
  lostWithKilledProcess: number;
  lostWithLease: number;
  /** Calls counted on a turn by a process killed (or cut off) after counting and before sending. */
  countedNeverSent: number;
}

// A generation's calls all start within this long before its process is killed.
const killWindowMs = 30_000;
// The fake sees a hung-up socket a moment after the engine has moved on.
const overlapToleranceMs = 50;

interface LogFindings {
  /** storyId → count of turns whose calls the process could not record (lease lost, failure not written). */
  unrecordedByStory: Map<string, number>;
  /** Background calls made although recording them first failed (logged). */
  unrecordedJobCalls: number;
  errorMessages: Map<string, number>;
}

export function readServerLogs(incarnations: Incarnation[]): LogFindings {
  const unrecordedByStory = new Map<string, number>();
  const errorMessages = new Map<string, number>();
  let unrecordedJobCalls = 0;
  for (const incarnation of incarnations) {
    const text = fs.existsSync(incarnation.logFile) ? fs.readFileSync(incarnation.logFile, 'utf8') : '';
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      let entry: { level?: number; msg?: string; storyId?: string; sourceId?: string; err?: { message?: string } };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        continue;
      }
      const msg = entry.msg ?? '';
      if ((msg.startsWith('lost the turn lease') || msg.startsWith('could not record the failed turn')) && entry.storyId) {
        unrecordedByStory.set(entry.storyId, (unrecordedByStory.get(entry.storyId) ?? 0) + 1);
      }
      if (msg.startsWith('could not record a model call before making it') && entry.sourceId?.startsWith('job:')) unrecordedJobCalls++;
      if ((entry.level ?? 0) >= 50) {
        const key = `${msg}${entry.err?.message ? `: ${entry.err.message.slice(0, 120)}` : ''}`;
        errorMessages.set(key, (errorMessages.get(key) ?? 0) + 1);
      }
    }
  }
  return { unrecordedByStory, unrecordedJobCalls, errorMessages };
}

export async function accountForCalls(
  pool: pg.Pool,
  calls: readonly ModelCall[],
  incarnations: readonly Incarnation[],
  logs: LogFindings,
  violations: Violations,
): Promise<CallAccount> {
  const { rows: turnRows } = await pool.query<{ title: string; story_id: string; status: string; error_code: string | null; calls: number; n: number }>(
    `SELECT s.title, t.story_id, t.status, t.error_code, sum(t.model_calls)::int AS calls, count(*)::int AS n
       FROM turns t JOIN stories s ON s.id = t.story_id GROUP BY s.title, t.story_id, t.status, t.error_code`,
  );
  const { rows: sceneRows } = await pool.query<{ story_id: string; title: string; call_id: string | null; model_calls: number }>(
    `SELECT sc.story_id, s.title, substring(sc.raw_output FROM '"hammerCallId":([0-9]+)') AS call_id, t.model_calls
       FROM scenes sc JOIN stories s ON s.id = sc.story_id JOIN turns t ON t.story_id = sc.story_id AND t.id = sc.turn_id`,
  );
  const { rows: talkRows } = await pool.query<{ call_id: string | null }>(
    // Imported stories carry copies of their source's conversations; only originals count.
    `SELECT substring(m.content FROM '\\[talk call ([0-9]+)\\]') AS call_id FROM character_memories m
      WHERE m.kind = 'conversation' AND NOT EXISTS (SELECT 1 FROM scenes sc WHERE sc.story_id = m.story_id AND sc.turn_id IS NULL)`,
  );
  const { rows: importedRows } = await pool.query<{ title: string }>(`SELECT DISTINCT s.title FROM stories s WHERE EXISTS (SELECT 1 FROM scenes sc WHERE sc.story_id = s.id AND sc.turn_id IS NULL)`);
  const importedTitles = new Set(importedRows.map((r) => r.title));

  const account: CallAccount = {
    received: calls.length,
    scene: calls.filter((c) => c.purpose === 'scene').length,
    repair: calls.filter((c) => c.purpose === 'repair').length,
    talk: calls.filter((c) => c.purpose === 'talk').length,
    summary: calls.filter((c) => c.purpose === 'summary').length,
    reflection: calls.filter((c) => c.purpose === 'reflection').length,
    recordedByJobs: { summary: 0, reflection: 0 },
    summariesStored: 0,
    reflectionsStored: 0,
    retriesAfterHang: calls.filter((c) => c.retryOf !== undefined).length,
    hangs: calls.filter((c) => c.fault === 'hang').length,
    garbage: calls.filter((c) => c.fault === 'garbage').length,
    recordedByTurns: 0,
    recordedBySucceeded: 0,
    recordedByFailed: new Map(),
    scenesFromCalls: sceneRows.length,
    conversations: talkRows.length,
    lostWithKilledProcess: 0,
    lostWithLease: 0,
    countedNeverSent: 0,
  };
  for (const row of turnRows) {
    account.recordedByTurns += row.calls;
    if (row.status === 'succeeded') account.recordedBySucceeded += row.calls;
    else if (row.status === 'failed') account.recordedByFailed.set(row.error_code ?? '?', (account.recordedByFailed.get(row.error_code ?? '?') ?? 0) + row.calls);
  }
  const other = calls.filter((c) => c.purpose === 'other');
  if (other.length > 0) violations.add('model call of unknown purpose', `${other.length} calls, e.g. call ${other[0]!.id}`);

  // Each scene was written by exactly one answered call, for its own story, never reused.
  const byId = new Map(calls.map((c) => [c.id, c]));
  const used = new Map<number, string>();
  for (const scene of sceneRows) {
    const call = scene.call_id === null ? undefined : byId.get(Number(scene.call_id));
    if (!call || (call.purpose !== 'scene' && call.purpose !== 'repair') || call.storyTitle !== scene.title) {
      violations.add('scene not written by a model call for its story', `story ${scene.story_id} call ${scene.call_id}`);
      continue;
    }
    if (used.has(call.id)) violations.add('one model answer stored as two scenes', `call ${call.id} in ${used.get(call.id)} and ${scene.story_id}`);
    used.set(call.id, scene.story_id);
    if (scene.model_calls === 1 && call.purpose !== 'scene') violations.add('scene from a re-ask on a turn that recorded one call', `call ${call.id}`);
  }
  const talkIds = talkRows.map((r) => Number(r.call_id));
  if (talkIds.some((id) => !byId.get(id) || byId.get(id)!.purpose !== 'talk')) violations.add('conversation not from a talk call', `${talkIds.length} conversations`);
  if (new Set(talkIds).size !== talkIds.length) violations.add('one talk answer stored twice', `${talkIds.length - new Set(talkIds).size} duplicates`);

  await accountForJobCalls(pool, calls, incarnations, logs, violations, account);

  // Per story title: calls received = calls recorded + calls lost with a killed process or a lost lease.
  // Provider retries are calls too: a turn records every attempt it makes (turns.model_calls).
  // A process that crashed on its own loses its calls like a killed one (the crash itself is a violation elsewhere).
  const killedAt = new Map(incarnations.filter((i) => i.killed || i.crashed).map((i) => [i.name, i.endedAt!]));
  const titleOfStory = new Map(turnRows.map((r) => [r.story_id, r.title]));
  const recordedByTitle = new Map<string, number>();
  for (const row of turnRows) recordedByTitle.set(row.title, (recordedByTitle.get(row.title) ?? 0) + row.calls);
  const leaseLostByTitle = new Map<string, number>();
  for (const [storyId, n] of logs.unrecordedByStory) {
    const title = titleOfStory.get(storyId);
    if (title) leaseLostByTitle.set(title, (leaseLostByTitle.get(title) ?? 0) + n);
  }
  // A call is counted before it is sent, so a process killed, or a call cut off, in between has
  // counted a call the model never saw: at most one per turn that was interrupted (taken over,
  // claimed again, expired, cancelled by its last waiter leaving, or stopped by a shutdown).
  const { rows: disturbedRows } = await pool.query<{ title: string; n: number }>(
    `SELECT s.title, count(*)::int AS n FROM turns t JOIN stories s ON s.id = t.story_id
      WHERE t.attempts > 1 OR t.error_code IN ('lease_expired', 'cancelled', 'shutting_down') GROUP BY s.title`,
  );
  const disturbedByTitle = new Map(disturbedRows.map((r) => [r.title, r.n]));
  const generationCalls = calls.filter((c) => c.purpose === 'scene' || c.purpose === 'repair');
  const byTitle = new Map<string, ModelCall[]>();
  for (const call of generationCalls) byTitle.set(call.storyTitle ?? '?', [...(byTitle.get(call.storyTitle ?? '?') ?? []), call]);
  for (const [title, titleCalls] of byTitle) {
    const logical = titleCalls;
    const recorded = recordedByTitle.get(title) ?? 0;
    const killable = logical.filter((c) => {
      const at = killedAt.get(c.incarnation);
      return at !== undefined && c.startedAt <= at && c.startedAt >= at - killWindowMs;
    }).length;
    // A lost lease or an unrecorded failure leaves at most a scene call and its re-ask unrecorded.
    const leaseLost = 2 * (leaseLostByTitle.get(title) ?? 0);
    const unexplained = logical.length - recorded;
    if (unexplained < 0) {
      const disturbed = disturbedByTitle.get(title) ?? 0;
      if (-unexplained > disturbed) {
        violations.add('turns record more model calls than the model received', `${title}: received ${logical.length}, recorded ${recorded}, turns a process lost ${disturbed}`);
      } else {
        account.countedNeverSent += -unexplained;
      }
    } else if (unexplained > killable + leaseLost) {
      violations.add(
        'model calls nobody accounts for',
        `${title}: received ${logical.length} (${titleCalls.filter((c) => c.retryOf !== undefined).length} of them retries), recorded ${recorded}, at most ${killable} lost with killed processes and ${leaseLost} with lost leases`,
      );
    } else {
      const fromKills = Math.min(unexplained, killable);
      account.lostWithKilledProcess += fromKills;
      account.lostWithLease += unexplained - fromKills;
    }
    // At most one generation in flight per story: its calls never overlap in time (imports share titles, so skip those).
    if (importedTitles.has(title) || leaseLostByTitle.has(title)) continue;
    const sorted = [...titleCalls].sort((a, b) => a.startedAt - b.startedAt);
    let open: ModelCall | undefined;
    for (const current of sorted) {
      const openEnd = open ? (open.endedAt ?? Number.POSITIVE_INFINITY) : Number.NEGATIVE_INFINITY;
      if (open && current.startedAt + overlapToleranceMs < openEnd) {
        violations.add('two generations in flight for one story', `${title}: call ${open.id} (${open.incarnation}) and ${current.id} (${current.incarnation}) overlap`);
      }
      if ((current.endedAt ?? Number.POSITIVE_INFINITY) > openEnd) open = current;
    }
  }
  return account;
}

/**
 * Background jobs: per purpose, the calls the model received against what the job claims
 * recorded (before each call, so a process killed between the record and the request leaves
 * one recorded call unsent, and a record that failed leaves one call unrecorded, logged);
 * and each job's effect once — at most one summary per scene, every stored summary or
 * reflection from an answered call of its purpose, no answer stored twice, and the
 * reflections of one job and character all from one call.
 */
async function accountForJobCalls(
  pool: pg.Pool,
  calls: readonly ModelCall[],
  incarnations: readonly Incarnation[],
  logs: LogFindings,
  violations: Violations,
  account: CallAccount,
): Promise<void> {
  const { rows: recorded } = await pool.query<{ purpose: 'summary' | 'reflection'; calls: number }>(
    `SELECT purpose, sum(calls)::int AS calls FROM model_call_counts WHERE purpose IN ('summary', 'reflection') GROUP BY purpose`,
  );
  for (const row of recorded) account.recordedByJobs[row.purpose] = row.calls;
  const killed = incarnations.filter((i) => i.killed || i.crashed).length;
  for (const purpose of ['summary', 'reflection'] as const) {
    const received = account[purpose];
    const recordedCalls = account.recordedByJobs[purpose];
    if (received > recordedCalls + logs.unrecordedJobCalls) {
      violations.add('background model calls nobody accounts for', `${purpose}: received ${received}, recorded ${recordedCalls}, ${logs.unrecordedJobCalls} logged as unrecorded`);
    }
    // One worker per process runs one job at a time: a kill strands at most one recorded, unsent call.
    if (recordedCalls > received + killed) {
      violations.add('background jobs record more model calls than the model received', `${purpose}: received ${received}, recorded ${recordedCalls}, ${killed} processes killed`);
    }
  }

  // Imported stories carry copies of their source's summaries and reflections; only originals count.
  const original = `NOT EXISTS (SELECT 1 FROM scenes sc WHERE sc.story_id = m.story_id AND sc.turn_id IS NULL)`;
  const { rows: summaries } = await pool.query<{ story_id: string; scene_id: string; call_id: string | null }>(
    `SELECT m.story_id, m.scene_id, substring(m.content FROM '\\[summary call ([0-9]+)\\]') AS call_id FROM memories m WHERE m.kind = 'summary' AND ${original}`,
  );
  const { rows: reflections } = await pool.query<{ story_id: string; scene_id: string; character_id: string; call_id: string | null }>(
    `SELECT m.story_id, m.scene_id, m.character_id, substring(m.content FROM '\\[reflection call ([0-9]+)\\]') AS call_id
       FROM character_memories m WHERE m.kind = 'reflection' AND ${original}`,
  );
  account.summariesStored = summaries.length;
  account.reflectionsStored = reflections.length;
  const byId = new Map(calls.map((c) => [c.id, c]));
  const perScene = new Map<string, number>();
  const summaryCallUsed = new Set<string>();
  for (const row of summaries) {
    const at = `${row.story_id}/${row.scene_id}`;
    perScene.set(at, (perScene.get(at) ?? 0) + 1);
    // Without a marker it is the extractive fallback a summary job stores when the model failed on its last attempt.
    if (row.call_id === null) continue;
    const call = byId.get(Number(row.call_id));
    if (!call || call.purpose !== 'summary' || call.outcome !== 'answered') violations.add('summary not from an answered summary call', `${at} call ${row.call_id}`);
    if (summaryCallUsed.has(row.call_id)) violations.add('one summary answer stored twice', `call ${row.call_id}`);
    summaryCallUsed.add(row.call_id);
  }
  for (const [at, n] of perScene) if (n > 1) violations.add('summary job landed more than once', `${at}: ${n} summaries`);

  // A reflection job asks one call per character: its conclusions share that call.
  const callsOfGroup = new Map<string, Set<string>>();
  const groupOfCall = new Map<string, string>();
  for (const row of reflections) {
    const group = `${row.story_id}/${row.scene_id}/${row.character_id}`;
    const call = row.call_id === null ? undefined : byId.get(Number(row.call_id));
    if (!call || call.purpose !== 'reflection' || call.outcome !== 'answered') {
      violations.add('reflection not from an answered reflection call', `${group} call ${row.call_id}`);
      continue;
    }
    callsOfGroup.set(group, (callsOfGroup.get(group) ?? new Set()).add(row.call_id!));
    const earlier = groupOfCall.get(row.call_id!);
    if (earlier !== undefined && earlier !== group) violations.add('one reflection answer stored twice', `call ${row.call_id} in ${earlier} and ${group}`);
    groupOfCall.set(row.call_id!, group);
  }
  for (const [group, ids] of callsOfGroup) {
    if (ids.size > 1) violations.add('reflection job landed more than once', `${group}: conclusions from calls ${[...ids].join(', ')}`);
  }
}
