/**
 * Model calls per turn: one call writes the scene, its choices and every character's
 * reaction, however many characters are present (0, 3, 8 with a scripted model that names
 * exactly that many; and the offline storyteller, which introduces its own). The ideal, 1 call
 * per turn, is the baseline. Then the corrective re-ask: a scripted model whose first answer
 * is unusable (two choices instead of three) on a set share of turns; the re-ask rate and calls
 * per turn are read back from the turns table (turns.model_calls) as well as counted.
 *
 *   npx tsx bench/calls-per-turn.ts
 */
import type { Database } from '../src/db/index.js';
import { isAppError } from '../src/errors.js';
import type { ModelProvider } from '../src/llm/provider.js';
import { createOfflineProvider } from '../src/llm/providers/offline.js';
import { createStory } from '../src/story/create-story.js';
import { takeTurn } from '../src/story/take-turn.js';
import { writeResult } from './lib.js';
import { ratio, round, sized } from './support/bench-options.js';
import { openBenchServerDatabase } from './support/bench-databases.js';
import { createBenchEngine, loadOfflineEmbedder } from './support/bench-engine.js';
import { createScriptedProvider } from './support/scripted-provider.js';

const turns = sized(30, 8);

interface Played {
  turns: number;
  failed: Record<string, number>;
  modelCalls: number;
  /** From the turns table: turns that needed more than one call. */
  reasked: number;
  modelCallsRecorded: number;
  charactersPerScene: number;
}

async function play(db: Database, provider: ModelProvider & { calls?: number }, countCalls: () => number, label: string): Promise<Played> {
  const embedder = await loadOfflineEmbedder();
  const opener = createBenchEngine(db, createScriptedProvider({ latencyMs: 0, characterCount: 0 }), embedder);
  const { story } = await createStory(opener, { title: `Calls ${label}`, setting: 'A harbour town in late autumn.' });
  const engine = createBenchEngine(db, provider, embedder);
  const before = countCalls();
  const failed: Record<string, number> = {};
  for (let turn = 0; turn < turns; turn++) {
    try {
      await takeTurn(engine, { storyId: story.id, kind: 'advance', choiceNumber: 1 + (turn % 3) });
    } catch (error) {
      const code = isAppError(error) ? error.code : 'internal';
      failed[code] = (failed[code] ?? 0) + 1;
    }
  }
  const { rows } = await db.query<{ reasked: number; calls: number }>(
    `SELECT count(*) FILTER (WHERE model_calls > 1)::int AS reasked, coalesce(sum(model_calls), 0)::int AS calls
       FROM turns WHERE story_id = $1 AND kind = 'advance'`,
    [story.id],
  );
  const cast = await db.query<{ per_scene: number }>(
    `SELECT coalesce(avg(n), 0)::float AS per_scene FROM (
       SELECT s.id, count(sc.character_id) AS n FROM scenes s
       LEFT JOIN scene_characters sc ON sc.story_id = s.story_id AND sc.scene_id = s.id AND sc.role = 'present'
       WHERE s.story_id = $1 AND s.scene_number > 1 GROUP BY s.id) t`,
    [story.id],
  );
  return {
    turns,
    failed,
    modelCalls: countCalls() - before,
    reasked: rows[0]!.reasked,
    modelCallsRecorded: rows[0]!.calls,
    charactersPerScene: round(cast.rows[0]!.per_scene, 2),
  };
}

/** Counts calls of any provider (the offline storyteller has no counter of its own). */
function counted(inner: ModelProvider): ModelProvider & { calls: number } {
  const wrapped = {
    ...inner,
    calls: 0,
    complete: (request: Parameters<ModelProvider['complete']>[0], signal?: AbortSignal) => {
      wrapped.calls++;
      return inner.complete(request, signal);
    },
    stream: (request: Parameters<ModelProvider['stream']>[0], signal?: AbortSignal) => {
      wrapped.calls++;
      return inner.stream(request, signal);
    },
  };
  return wrapped;
}

async function main(): Promise<void> {
  console.log(`calls per turn: ${turns} turns per case, server PostgreSQL; ideal 1 call per turn`);
  const server = await openBenchServerDatabase({ poolSize: 4 });
  try {
    const characterCases = [];
    for (const characterCount of [0, 3, 8]) {
      const model = createScriptedProvider({ latencyMs: 0, characterCount });
      const played = await play(server.db, model, () => model.calls, `${characterCount} characters`);
      const row = { model: `scripted, ${characterCount} characters`, characterCount, ...played, callsPerTurn: ratio(played.modelCalls, played.turns), vsIdeal: ratio(played.modelCalls / played.turns, 1) };
      characterCases.push(row);
      console.log(`  ${row.model.padEnd(26)} ${row.callsPerTurn} calls/turn (recorded ${played.modelCallsRecorded}/${played.turns}), ${played.charactersPerScene} present per scene, failures ${JSON.stringify(played.failed)}`);
    }
    const offline = counted(createOfflineProvider({ seed: 9, latencyMs: 0 }));
    const offlinePlayed = await play(server.db, offline, () => offline.calls, 'offline');
    const offlineRow = { model: 'offline storyteller', characterCount: null, ...offlinePlayed, callsPerTurn: ratio(offlinePlayed.modelCalls, offlinePlayed.turns), vsIdeal: ratio(offlinePlayed.modelCalls / offlinePlayed.turns, 1) };
    characterCases.push(offlineRow);
    console.log(`  ${offlineRow.model.padEnd(26)} ${offlineRow.callsPerTurn} calls/turn, ${offlinePlayed.charactersPerScene} present per scene`);

    const reaskCases = [];
    const scenarios: { name: string; scriptedBadShare: number; bad: (call: number, purpose: string | undefined, turn: number) => boolean }[] = [
      { name: 'every 4th first answer bad, re-ask good', scriptedBadShare: 0.25, bad: (_call, purpose, turn) => purpose !== 'repair' && turn % 4 === 3 },
      { name: 'every first answer bad, re-ask good', scriptedBadShare: 1, bad: (_call, purpose) => purpose !== 'repair' },
      { name: 'every answer bad', scriptedBadShare: 1, bad: () => true },
    ];
    for (const scenario of scenarios) {
      let turnIndex = -1;
      const model = createScriptedProvider({
        latencyMs: 0,
        characterCount: 2,
        badAnswer: (call, request) => {
          if (request.purpose !== 'repair') turnIndex++;
          return scenario.bad(call, request.purpose, turnIndex);
        },
      });
      const played = await play(server.db, model, () => model.calls, scenario.name);
      const row = {
        scenario: scenario.name,
        scriptedBadShare: scenario.scriptedBadShare,
        ...played,
        reaskRate: ratio(played.reasked, played.turns),
        callsPerTurn: ratio(played.modelCalls, played.turns),
        failedShare: ratio(Object.values(played.failed).reduce((a, b) => a + b, 0), played.turns),
      };
      reaskCases.push(row);
      console.log(`  ${scenario.name.padEnd(42)} re-ask rate ${row.reaskRate}, ${row.callsPerTurn} calls/turn, failed ${row.failedShare} ${JSON.stringify(played.failed)}`);
    }
    writeResult('calls-per-turn', {
      benchmark: 'calls-per-turn',
      turnsPerCase: turns,
      characterCases,
      reaskCases,
      method:
        'One story per case, turns taken one after another with choices 1,2,3,…; calls counted at the provider and read back from turns.model_calls. A bad answer has two choices instead of three; the engine re-asks once with a repair request and fails the turn (llm_bad_output) if that is bad too.',
    });
  } finally {
    await server.dispose();
  }
}

await main();
