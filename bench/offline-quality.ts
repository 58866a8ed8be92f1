/**
 * Offline storyteller quality: 5 settings × 50 turns through the real engine (server
 * PostgreSQL, offline storyteller and embedder), with scripted choices and, every other turn,
 * a scripted instruction in one of the forms players type. Reports leaks of internal text
 * (target 0), sentences repeated within 10 scenes of the path (target 0), instructions whose
 * content words all reach the scene's first paragraph (target ≥ 95 %), setting content words
 * used per scene and distinct character descriptions per story.
 *
 *   npx tsx bench/offline-quality.ts            (or BENCH_ONLY=offline-quality npm run bench)
 *   BENCH_TURNS=20 npx tsx bench/offline-quality.ts
 */
import type { Database } from '../src/db/index.js';
import { createOfflineProvider } from '../src/llm/providers/offline.js';
import { voiceIn } from '../src/llm/providers/offline/persona.js';
import { createStory } from '../src/story/create-story.js';
import { takeTurn } from '../src/story/take-turn.js';
import { findLeaks, findRepeats, instructionCarriedOut, settingWordsUsed, type Leak, type Repeat } from '../test/helpers/prose-quality.js';
import { writeResult } from './lib.js';
import { envNumber, median, round, sized } from './support/bench-options.js';
import { openBenchServerDatabase } from './support/bench-databases.js';
import { createBenchEngine, loadOfflineEmbedder } from './support/bench-engine.js';

const turns = envNumber('BENCH_TURNS', sized(50, 12));

const targets = { leaks: 0, repeatsWithin10: 0, instructionsCarriedShare: 0.95 };

const settings: { title: string; setting: string; instructions: string[] }[] = [
  {
    title: 'The Keeper of Gull Rock',
    setting: 'A remote lighthouse on the Cornish coast in 1893. The keeper has vanished; his daughter Ysolde tends the lamp while storms batter the cliffs and the villagers of Porthkellis whisper about wreckers.',
    instructions: ['1 (ask Ysolde where the lighthouse keeper is)', 'I climb the stairs to the lamp room', 'search the cliffs for signs of the wreckers', 'Where did the keeper go?', 'light the lamp before the storm', 'the logbook'],
  },
  {
    title: 'Orbit of Ash',
    setting: 'A mining station orbiting a dying star, where the night shift has stopped answering and the quartermaster hoards the last oxygen.',
    instructions: ['check the oxygen readings', 'I want to find the night shift', 'ask the quartermaster about the oxygen', 'Why is the reactor so quiet?', 'seal the airlock behind me', 'follow the maintenance drone'],
  },
  {
    title: 'The Crownless Court',
    setting: "The king's castle on the eve of a coronation. The old steward has been poisoned, the heir is missing, and the guards suspect everyone.",
    instructions: ['question the guards about the heir', 'I slip into the chapel', 'taste nothing at the feast', 'Who poisoned the steward?', 'search the steward\'s chambers', 'warn the captain about the poison'],
  },
  {
    title: 'Brightwater Market',
    setting: 'A rain-soaked city of canals in 1924, where a detective hunts a missing singer through jazz clubs and smugglers\' warehouses.',
    instructions: ['show the photograph to the bartender', 'I follow the smugglers to the warehouse', 'ask about the missing singer', 'Is the club owner lying?', 'pick the lock of the dressing room', 'wait by the canal until midnight'],
  },
  {
    title: 'The Whispering Pines',
    setting: 'An ancient forest where the trees whisper at night, a village of woodcutters lives in fear of the wolves, and the old hermit knows more than he says.',
    instructions: ['follow the wolf tracks into the ravine', 'I ask the hermit about the whispers', 'gather herbs by the stream', 'What are the trees saying?', 'climb the old oak', 'carve a warning sign on the path'],
  },
];

interface StoryFigures {
  title: string;
  scenes: number;
  leaks: number;
  leakExamples: Leak[];
  repeatsWithin10: number;
  repeatExamples: Repeat[];
  instructions: number;
  instructionsCarried: number;
  missedInstructions: { instruction: string; missing: string[] }[];
  settingWordsPerScene: { mean: number; median: number; min: number };
  scenesUsingNoSettingWord: number;
  characters: number;
  distinctDescriptions: number;
  distinctVoices: number;
}

async function playStory(db: Database, spec: (typeof settings)[number], seed: number): Promise<StoryFigures> {
  const engine = createBenchEngine(db, createOfflineProvider({ seed, latencyMs: 0 }), await loadOfflineEmbedder());
  const { story, opening } = await createStory(engine, { title: spec.title, setting: spec.setting });
  const scenes = [opening.scene.content];
  const instructionChecks: { instruction: string; carried: boolean; missing: string[] }[] = [];
  for (let turn = 1; turn < turns; turn++) {
    // Every other turn carries an instruction; the choice taken follows a fixed pattern.
    const instruction = turn % 2 === 0 ? spec.instructions[(turn / 2) % spec.instructions.length] : undefined;
    const result = await takeTurn(engine, { storyId: story.id, kind: 'advance', choiceNumber: 1 + ((turn * 7) % 3), ...(instruction ? { instruction } : {}) });
    scenes.push(result.scene.content);
    if (instruction) instructionChecks.push({ instruction, ...instructionCarriedOut(instruction, result.scene.content) });
  }
  const characters = await db.query<{ name: string; description: string }>('SELECT name, description FROM characters WHERE story_id = $1', [story.id]);
  const privates = await db.query<{ content: string }>(
    "SELECT content FROM character_memories WHERE story_id = $1 AND kind = 'thought'",
    [story.id],
  );
  // Observations are digests of the scene itself; thoughts are the characters' own and private.
  const privateTexts = privates.rows.map((row) => row.content);
  const leaks = scenes.flatMap((scene) => findLeaks(scene, privateTexts));
  const names = characters.rows.map((row) => row.name);
  const repeats = findRepeats(scenes, names, 10);
  const settingCounts = scenes.map((scene) => settingWordsUsed(spec.setting, scene));
  const voices = characters.rows.map((row) => voiceIn(row.description) ?? row.description);
  return {
    title: spec.title,
    scenes: scenes.length,
    leaks: leaks.length,
    leakExamples: leaks.slice(0, 5),
    repeatsWithin10: repeats.length,
    repeatExamples: repeats.slice(0, 5),
    instructions: instructionChecks.length,
    instructionsCarried: instructionChecks.filter((check) => check.carried).length,
    missedInstructions: instructionChecks.filter((check) => !check.carried).map(({ instruction, missing }) => ({ instruction, missing })).slice(0, 5),
    settingWordsPerScene: {
      mean: round(settingCounts.reduce((a, b) => a + b, 0) / settingCounts.length, 2),
      median: median(settingCounts),
      min: Math.min(...settingCounts),
    },
    scenesUsingNoSettingWord: settingCounts.filter((count) => count === 0).length,
    characters: characters.rows.length,
    distinctDescriptions: new Set(characters.rows.map((row) => row.description.trim().toLowerCase())).size,
    distinctVoices: new Set(voices).size,
  };
}

async function main(): Promise<void> {
  console.log(`offline quality: ${settings.length} settings × ${turns} turns, server PostgreSQL, offline storyteller`);
  const server = await openBenchServerDatabase({ poolSize: 4 });
  try {
    const stories: StoryFigures[] = [];
    for (const [index, spec] of settings.entries()) {
      const figures = await playStory(server.db, spec, 100 + index);
      stories.push(figures);
      console.log(
        `  ${spec.title.padEnd(26)} leaks ${figures.leaks}, repeats ${figures.repeatsWithin10}, instructions ${figures.instructionsCarried}/${figures.instructions}, ` +
          `setting words/scene ${figures.settingWordsPerScene.mean}, descriptions ${figures.distinctDescriptions}/${figures.characters}`,
      );
      for (const repeat of figures.repeatExamples) console.log(`    repeat (scenes ${repeat.firstScene}→${repeat.againScene}): ${repeat.sentence}`);
      for (const leak of figures.leakExamples) console.log(`    leak (${leak.kind}): ${leak.excerpt}`);
      for (const miss of figures.missedInstructions) console.log(`    instruction missed: ${miss.instruction} (missing ${miss.missing.join(', ')})`);
    }
    const sum = (pick: (story: StoryFigures) => number) => stories.reduce((total, story) => total + pick(story), 0);
    const totals = {
      scenes: sum((s) => s.scenes),
      leaks: sum((s) => s.leaks),
      repeatsWithin10: sum((s) => s.repeatsWithin10),
      instructions: sum((s) => s.instructions),
      instructionsCarried: sum((s) => s.instructionsCarried),
      instructionsCarriedShare: round(sum((s) => s.instructionsCarried) / Math.max(1, sum((s) => s.instructions)), 3),
      settingWordsPerScene: round(sum((s) => s.settingWordsPerScene.mean * s.scenes) / Math.max(1, sum((s) => s.scenes)), 2),
      characters: sum((s) => s.characters),
      distinctDescriptions: sum((s) => s.distinctDescriptions),
    };
    const met = {
      leaks: totals.leaks <= targets.leaks,
      repeatsWithin10: totals.repeatsWithin10 <= targets.repeatsWithin10,
      instructionsCarriedShare: totals.instructionsCarriedShare >= targets.instructionsCarriedShare,
    };
    console.log(`  totals: ${JSON.stringify(totals)}; targets met: ${JSON.stringify(met)}`);
    writeResult('offline-quality', {
      benchmark: 'offline-quality',
      turnsPerStory: turns,
      targets,
      met,
      totals,
      stories,
      method:
        'Each setting is one story of this many scenes on one path, played through createStory/takeTurn on server PostgreSQL with the offline storyteller and embedder; choices follow 1 + (7·turn mod 3), and every other turn carries the next scripted instruction. ' +
        'Leaks: scene numbers, "player", memory labels, prompt headings, numbered instructions, prompt wording, or any sentence of a character\'s stored private thought copied into the prose. ' +
        'Repeats: a sentence (lower case, punctuation and character names folded) seen again within 10 scenes, or twice in one scene. ' +
        "Instructions carried out: every content word of the instruction (stemmed; stop words and pronouns left out) is in the scene's first paragraph. " +
        'Setting words: distinct content words (4+ letters) of the setting text in each scene. Descriptions and voices: distinct stored character descriptions, and the voices they give, over the characters in the story.',
    });
    if (!met.leaks || !met.repeatsWithin10 || !met.instructionsCarriedShare) process.exitCode = 1;
  } finally {
    await server.dispose();
  }
}

await main();
