/**
 * The world at scale: reading the state at a story's head, and a turn's engine overhead, for
 * a long branchy story (2,000 scenes, 50 characters) against a short one (20 scenes, the same
 * 50 characters met), on embedded PGlite and server PostgreSQL. Both stories are built the
 * same way (bench/support/branchy-story.ts: an archive imported by the product's importer,
 * then embedded), so the only difference is the story's length and its tree.
 *
 * - Head-state read: what GET /api/stories/:id/characters and /relationships read, through
 *   the same functions (resolveSceneInStory, listCharactersAtScene, readRelationshipsAt).
 * - Fold at read time (the representation not chosen): the events of the head's path loaded
 *   and folded (loadPathEvents + foldWorldEvents), beside the snapshot read.
 * - Turn overhead: takeTurn (advance) at the head with the offline storyteller at 0 ms, model
 *   time subtracted; blocks on the long and the short story alternate so drift hits both.
 * - Snapshot copy: the branchWorldState statements of each commit, timed apart.
 *
 *   npx tsx bench/world-scale.ts    (BENCH_WORLD_SCENES=2000, BENCH_WORLD_TURNS=24; BENCH_QUICK=1: 400 and 8)
 */
import { createOfflineProvider } from '../src/llm/providers/offline.js';
import { listCharactersAtScene } from '../src/characters/character-views.js';
import { takeTurn } from '../src/story/take-turn.js';
import { foldWorldEvents, loadPathEvents, readRelationshipsAt, resolveSceneInStory } from '../src/world/index.js';
import { summarise, writeResult } from './lib.js';
import { envNumber, ratio, sized } from './support/bench-options.js';
import { measureOnBothBackends, type BenchDatabase } from './support/bench-databases.js';
import { createBenchEngine, loadOfflineEmbedder } from './support/bench-engine.js';
import { createBranchyStory, embedEverything, type BranchyStory } from './support/branchy-story.js';
import { profileDatabase } from './support/profiled-database.js';
import { timeProvider, type Stopwatch } from './support/timed-parts.js';

const longScenes = envNumber('BENCH_WORLD_SCENES', sized(2000, 400));
const shortScenes = 20;
const characterCount = envNumber('BENCH_WORLD_CHARACTERS', 50);
const turnsPerStory = envNumber('BENCH_WORLD_TURNS', sized(24, 8));
const reads = envNumber('BENCH_WORLD_READS', sized(100, 40));
const folds = envNumber('BENCH_WORLD_FOLDS', sized(5, 2));
const block = 4;

/** The statements of branchWorldState: a new scene's snapshot copied from its parent. */
const snapshotCopy = /^\s*WITH characters_copied AS/;

async function timeReads(count: number, fn: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await fn();
    samples.push(performance.now() - started);
  }
  return samples;
}

async function measureBackend(name: 'embedded' | 'server', backend: BenchDatabase) {
  const embedder = await loadOfflineEmbedder();
  const built = performance.now();
  const long = await createBranchyStory(backend.db, embedder, { scenes: longScenes, characters: characterCount, seed: 3 });
  const short = await createBranchyStory(backend.db, embedder, { scenes: shortScenes, characters: characterCount, seed: 4 });
  const importSeconds = (performance.now() - built) / 1000;
  await embedEverything(backend.db, embedder);
  const buildSeconds = (performance.now() - built) / 1000;
  console.log(`${name}: import ${importSeconds.toFixed(1)} s, embedding ${(buildSeconds - importSeconds).toFixed(1)} s`);
  console.log(`${name}: built ${long.scenes} scenes (head depth ${long.headDepth}) and ${short.scenes} (depth ${short.headDepth}) in ${buildSeconds.toFixed(1)} s`);

  const db = backend.db;
  const headState = async (story: BranchyStory) => {
    // As the two routes do: the head, the characters there, then every relationship there.
    const sceneId = await resolveSceneInStory(db, story.storyId, undefined);
    const characters = await listCharactersAtScene(db, story.storyId, sceneId);
    const relationships = await readRelationshipsAt(db, story.storyId, sceneId);
    return { characters, relationships };
  };
  const fold = async (story: BranchyStory) => {
    const sceneId = await resolveSceneInStory(db, story.storyId, undefined);
    return foldWorldEvents(await loadPathEvents(db, story.storyId, sceneId!));
  };
  const sanity = await headState(long);
  const folded = await fold(long);
  if (sanity.characters.filter((c) => c.met).length !== folded.characters.size || sanity.relationships.length !== folded.relationships.size) {
    throw new Error('the snapshot at the head does not match the fold of its path');
  }
  for (let i = 0; i < 10; i++) await Promise.all([headState(long), headState(short)]);
  const headRead = { long: [] as number[], short: [] as number[] };
  const foldRead = { long: [] as number[], short: [] as number[] };
  for (let i = 0; i < reads; i += 10) {
    headRead.long.push(...(await timeReads(10, () => headState(long))));
    headRead.short.push(...(await timeReads(10, () => headState(short))));
  }
  // The fold grows with the path (its event query pairs each path scene with its child): a few samples tell.
  for (let i = 0; i < folds; i++) {
    foldRead.long.push(...(await timeReads(1, () => fold(long))));
    foldRead.short.push(...(await timeReads(1, () => fold(short))));
  }

  const modelWatch: Stopwatch = { ms: 0, calls: 0 };
  const profiled = profileDatabase(db, (sql) => (snapshotCopy.test(sql) ? 'snapshotCopy' : 'other'));
  const deps = createBenchEngine(profiled, timeProvider(createOfflineProvider({ seed: 11, latencyMs: 0 }), modelWatch), embedder);
  const turn = async (story: BranchyStory, i: number) => {
    modelWatch.ms = 0;
    profiled.reset();
    const started = performance.now();
    await takeTurn(deps, { storyId: story.storyId, kind: 'advance', choiceNumber: 1 + (i % 3) });
    return { ms: performance.now() - started - modelWatch.ms, copyMs: profiled.totals.get('snapshotCopy') ?? 0 };
  };
  for (let i = 0; i < 3; i++) {
    await turn(long, i);
    await turn(short, i);
  }
  const turns = { long: [] as { ms: number; copyMs: number }[], short: [] as { ms: number; copyMs: number }[] };
  for (let i = 0; i < turnsPerStory; i += block) {
    for (let k = 0; k < block; k++) turns.long.push(await turn(long, i + k));
    for (let k = 0; k < block; k++) turns.short.push(await turn(short, i + k));
  }
  const result = {
    backend: name,
    buildSeconds: Math.round(buildSeconds * 10) / 10,
    long: { scenes: long.scenes, headDepth: long.headDepth, characters: long.characters },
    short: { scenes: short.scenes, headDepth: short.headDepth, characters: short.characters },
    headCharacters: sanity.characters.length,
    headRelationships: sanity.relationships.length,
    headReadMs: { long: summarise(headRead.long), short: summarise(headRead.short) },
    headReadRatioP50: ratio(summarise(headRead.long).p50, summarise(headRead.short).p50),
    foldReadMs: { long: summarise(foldRead.long), short: summarise(foldRead.short) },
    turnOverheadMs: { long: summarise(turns.long.map((t) => t.ms)), short: summarise(turns.short.map((t) => t.ms)) },
    turnOverheadRatioP50: ratio(summarise(turns.long.map((t) => t.ms)).p50, summarise(turns.short.map((t) => t.ms)).p50),
    snapshotCopyMs: { long: summarise(turns.long.map((t) => t.copyMs)), short: summarise(turns.short.map((t) => t.copyMs)) },
  };
  console.log(
    `${name}: head read p50 ${result.headReadMs.long.p50} ms at ${long.scenes} vs ${result.headReadMs.short.p50} ms at ${short.scenes} (fold ${result.foldReadMs.long.p50} / ${result.foldReadMs.short.p50}); ` +
      `turn overhead p50 ${result.turnOverheadMs.long.p50} vs ${result.turnOverheadMs.short.p50} ms (×${result.turnOverheadRatioP50}); snapshot copy p50 ${result.snapshotCopyMs.long.p50} / ${result.snapshotCopyMs.short.p50} ms`,
  );
  return result;
}

async function main(): Promise<void> {
  console.log(`world at scale: ${longScenes} vs ${shortScenes} scenes, ${characterCount} characters, ${turnsPerStory} turns each, ${reads} head reads each`);
  const results = await measureOnBothBackends(measureBackend);
  writeResult('world-scale', {
    benchmark: 'world-scale',
    longScenes,
    shortScenes,
    characters: characterCount,
    turnsPerStory,
    targets: { headReadP50MsAtLong: 5, turnOverheadRatioP50: 1.5 },
    results,
    method:
      'Both stories: a branchy tree (advance from the head, ~6.7 % regenerations, ~1.7 % rewinds of up to 20 scenes), 3 characters present per scene, all characters met early, one observation per present character and one scene memory per scene, imported as a livingworld/1 archive and embedded with the offline embedder. Head read = resolveSceneInStory + listCharactersAtScene + readRelationshipsAt at the head (what the characters and relationships routes read). Fold = loadPathEvents + foldWorldEvents at the head. Turn overhead = takeTurn (advance) with the offline storyteller at 0 ms minus the time inside it; blocks of 4 turns alternate between the stories. Snapshot copy = branchWorldState statements inside each commit.',
  });
}

await main();
