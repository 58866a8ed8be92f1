/**
 * Single flight: C identical advances fired at once on one story (same choice, same
 * fromSceneId, as a double click or a retrying client sends them) must cost one model call,
 * and all C answers should arrive about one model latency after the first request. A scripted
 * model with a fixed 300 ms latency counts its calls. Five engine instances (distinct lease
 * owners) share one pool on server PostgreSQL, so joiners wait through LISTEN/NOTIFY and
 * polling as they would across processes. C = 1 is the baseline measured in the same run.
 *
 *   npx tsx bench/single-flight.ts
 */
import { isAppError } from '../src/errors.js';
import { createStory } from '../src/story/create-story.js';
import { takeTurn } from '../src/story/take-turn.js';
import { writeResult } from './lib.js';
import { median, ratio, round, sized } from './support/bench-options.js';
import { openBenchServerDatabase } from './support/bench-databases.js';
import { createBenchEngine, loadOfflineEmbedder } from './support/bench-engine.js';
import { createScriptedProvider } from './support/scripted-provider.js';

const modelLatencyMs = 300;
const engineInstances = 5;
const concurrencies = [1, 10, 50];
const rounds = sized(7, 2);

async function main(): Promise<void> {
  console.log(`single flight: ${concurrencies.join(', ')} identical concurrent advances, model latency ${modelLatencyMs} ms, ${rounds} rounds each, server PostgreSQL`);
  const server = await openBenchServerDatabase({ poolSize: 20 });
  try {
    const embedder = await loadOfflineEmbedder();
    const model = createScriptedProvider({ latencyMs: modelLatencyMs, characterCount: 2 });
    const engines = Array.from({ length: engineInstances }, (_, i) => createBenchEngine(server.db, model, embedder, { instanceId: `bench-sf-${i}` }));
    const opener = createBenchEngine(server.db, createScriptedProvider({ latencyMs: 0, characterCount: 2 }), embedder);
    const results = [];
    for (const concurrency of concurrencies) {
      const { story, opening } = await createStory(opener, { title: `Single flight ${concurrency}`, setting: 'A harbour town at dusk.' });
      let headSceneId = opening.scene.id;
      const walls: number[] = [];
      const calls: number[] = [];
      const outcomes: Record<string, number> = {};
      for (let round = 0; round < rounds; round++) {
        const callsBefore = model.calls;
        const started = performance.now();
        const answers = await Promise.all(
          Array.from({ length: concurrency }, (_, i) =>
            takeTurn(engines[i % engineInstances]!, { storyId: story.id, kind: 'advance', choiceNumber: 1, fromSceneId: headSceneId }).then(
              (result) => ({ how: result.how, sceneId: result.scene.id }),
              (error: unknown) => ({ how: isAppError(error) ? error.code : 'internal', sceneId: undefined }),
            ),
          ),
        );
        walls.push(performance.now() - started);
        calls.push(model.calls - callsBefore);
        for (const answer of answers) outcomes[answer.how] = (outcomes[answer.how] ?? 0) + 1;
        const scenes = new Set(answers.map((answer) => answer.sceneId).filter(Boolean));
        if (scenes.size !== 1) console.warn(`  round ${round}: ${scenes.size} distinct scenes for identical requests`);
        headSceneId = [...scenes][0] ?? headSceneId;
      }
      const result = {
        concurrency,
        rounds,
        modelCallsPerTurn: round(calls.reduce((a, b) => a + b, 0) / rounds, 2),
        maxModelCallsInARound: Math.max(...calls),
        wallMsMedian: round(median(walls), 1),
        wallMsMax: round(Math.max(...walls), 1),
        wallOverModelLatencyMedian: ratio(median(walls), modelLatencyMs),
        wallOverModelLatencyMax: ratio(Math.max(...walls), modelLatencyMs),
        outcomes,
      };
      results.push(result);
      console.log(
        `  C=${String(concurrency).padStart(2)}: ${result.modelCallsPerTurn} model calls per turn, wall ${result.wallMsMedian} ms median (${result.wallOverModelLatencyMedian}× the model latency), outcomes ${JSON.stringify(outcomes)}`,
      );
    }
    const baseline = results.find((r) => r.concurrency === 1)!;
    writeResult('single-flight', {
      benchmark: 'single-flight',
      modelLatencyMs,
      engineInstances,
      results: results.map((r) => ({ ...r, wallOverSingleRequest: ratio(r.wallMsMedian, baseline.wallMsMedian) })),
      target: 'one model call per turn; wall time / model latency close to 1',
      method:
        'Each round fires C takeTurn calls at once with the same choice and fromSceneId (the current head) across 5 engine instances on one pg pool (20 connections); wall time from first call to last answer. Scripted model: fixed 300 ms, counts calls.',
    });
  } finally {
    await server.dispose();
  }
}

await main();
