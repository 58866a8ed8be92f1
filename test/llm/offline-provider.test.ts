import { describe, expect, it } from 'vitest';
import type { CompletionRequest, StoryTask, TaskCharacter } from '../../src/llm/provider.js';
import { createOfflineProvider } from '../../src/llm/providers/offline.js';
import { planScene } from '../../src/llm/providers/offline/scene-plan.js';
import { createSeededRandom } from '../../src/llm/providers/offline/seeded-random.js';
import { writeScene as writeSceneProse } from '../../src/llm/providers/offline/write-scene.js';
import { parseSceneOutput } from '../../src/story/parse-scene.js';
import { sceneCharacterSchema, type SceneOutput } from '../../src/story/scene-output.js';

type SceneTask = Extract<StoryTask, { kind: 'scene' }>;

const harbourSetting = 'A foggy harbour town where ships vanish and the lighthouse has gone dark.';

function sceneTask(overrides: Partial<SceneTask> = {}): SceneTask {
  return {
    kind: 'scene',
    storyTitle: 'The Dark Light',
    setting: harbourSetting,
    sceneNumber: 1,
    recentScenes: [],
    characters: [],
    seed: 1234,
    choiceCount: 3,
    ...overrides,
  };
}

function request(task: StoryTask): CompletionRequest {
  return { messages: [{ role: 'user', content: 'Write the scene.' }], task };
}

async function writeScene(task: SceneTask, seed = 7): Promise<SceneOutput> {
  const completion = await createOfflineProvider({ seed }).complete(request(task));
  return parseSceneOutput(completion.text, { choiceCount: task.choiceCount });
}

async function collect(stream: AsyncIterable<string>): Promise<string[]> {
  const chunks: string[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

describe('offline provider: scenes', () => {
  it('labels itself as the offline procedural storyteller', () => {
    const provider = createOfflineProvider({ seed: 1 });
    expect([provider.name, provider.model, provider.offline]).toEqual(['offline', 'procedural-v1', true]);
  });

  it('writes JSON that parseSceneOutput accepts, with three distinct choices and valid characters', async () => {
    const scene = await writeScene(sceneTask());
    expect(scene.scene.length).toBeGreaterThan(200);
    expect(scene.scene).toMatch(/\bYou\b/);
    expect(scene.choices).toHaveLength(3);
    expect(new Set(scene.choices).size).toBe(3);
    expect(scene.characters.length).toBeGreaterThan(0);
    for (const character of scene.characters) expect(() => sceneCharacterSchema.parse(character)).not.toThrow();
    const present = scene.characters.filter((character) => character.role === 'present');
    expect(present.length).toBeGreaterThan(0);
    for (const character of present) {
      expect(scene.scene).toContain(character.name.split(' ')[0]);
      expect(character).toMatchObject({
        description: expect.any(String),
        personality: expect.any(String),
        goals: expect.any(String),
        mood: expect.any(String),
        thought: expect.any(String),
        reaction: expect.any(String),
      });
      if (character.action !== undefined) expect(character.action).toMatch(/\w/);
      expect(character.relationships?.[0]?.target).toBe('player');
    }
  });

  it('lets characters act on their own now and then, not every one every turn', async () => {
    const acting: boolean[] = [];
    for (let seed = 1; seed <= 12; seed++) {
      const scene = await writeScene({ ...sceneTask(), seed });
      for (const character of scene.characters.filter((c) => c.role === 'present')) acting.push(character.action !== undefined);
    }
    expect(acting).toContain(true);
    expect(acting).toContain(false);
  });

  it('returns the same text byte for byte for the same task', async () => {
    const task = sceneTask({ chosenAction: 'Head for the fish market', recentScenes: ['You arrive.'], sceneNumber: 2 });
    const first = await createOfflineProvider({ seed: 7 }).complete(request(task));
    const second = await createOfflineProvider({ seed: 7 }).complete(request(structuredClone(task)));
    expect(second.text).toBe(first.text);
  });

  it('tells a different scene for a different seed', async () => {
    const texts = new Set<string>();
    for (const seed of [1, 2, 3]) texts.add((await createOfflineProvider({ seed: 7 }).complete(request(sceneTask({ seed })))).text);
    expect(texts.size).toBe(3);
  });

  it('uses the setting: a harbour story sounds like a harbour and reuses the author\'s words, not the whole text', async () => {
    const scene = await writeScene(sceneTask());
    expect(scene.scene).toMatch(/the harbour town|the lighthouse/);
    expect(scene.scene).not.toContain('a foggy harbour town where ships vanish');
    expect(`${scene.scene} ${scene.choices.join(' ')}`).toMatch(/pier|harbour|quay|gulls|tide|boat|ship|dock|breakwater|net/i);
  });

  it('sounds different in space, in a forest and in a castle', async () => {
    const space = await writeScene(sceneTask({ setting: 'A mining station orbiting a dying star.' }));
    const forest = await writeScene(sceneTask({ setting: 'An ancient forest where the trees whisper.' }));
    const castle = await writeScene(sceneTask({ setting: "The king's castle on the eve of a coronation." }));
    expect(space.scene).toMatch(/deck|bulkhead|airlock|docking|hydroponics|engine|viewport|recycler|hull|drone/i);
    expect(forest.scene).toMatch(/oak|clearing|ravine|hut|stones|stream|canopy|trunks|branches|moss|pine|leaves|crows|roots/i);
    expect(castle.scene).toMatch(/hall|chapel|battlements|kitchens|tower|stables|banners|torches|servants|guards|flagstones|portcullis/i);
  });

  it('talks about the place a setting puts the story at the edge of, never about "the edge"', async () => {
    for (const setting of ['A caravan town on the edge of a salt desert, where water is currency.', 'In the heart of the old city, the curse of the Vell family lingers.']) {
      const told: string[] = [];
      for (const seed of [1, 2, 3, 4, 5, 6]) {
        for (const sceneNumber of [1, 2, 3]) {
          const scene = await writeScene(sceneTask({ setting, sceneNumber, seed: seed * 100 + sceneNumber }), seed);
          told.push(scene.scene, ...scene.choices);
        }
      }
      const text = told.join('\n');
      expect(text).not.toMatch(/\bthe (edge|heart)\b/i);
      expect(text).toMatch(/the (desert|town|city|curse)/i);
      // With few places, the topic is a place too: it is never paired with itself.
      expect(text).not.toMatch(/\b(the \w+) and \1\b|\b(the \w+) you're after, start at \2\b/i);
    }
  });

  it('brings in the people the setting names, by the whole names it gives them', async () => {
    const settings: [string, string][] = [
      ['A caravan town at the edge of a salt desert, where the well keeper Ilsa Marr guards the last sweet water.', 'Ilsa Marr'],
      ['A river port at dusk, where the ferryman Oren Vale owes everyone money.', 'Oren Vale'],
      ['Oren Vale, the ferryman, owes everyone money in this river port.', 'Oren Vale'],
    ];
    for (const [setting, name] of settings) {
      for (const seed of [1, 2, 3, 4]) {
        const opening = await writeScene(sceneTask({ setting, seed }), seed);
        expect(opening.characters.map((character) => character.name)).toContain(name);
        expect(opening.scene).toContain(name);
      }
    }
    // A place set before a role is no person.
    const scene = await writeScene(sceneTask({ setting: 'In Porthkellis, the keeper has vanished and the lamp is dark.' }));
    expect(scene.characters.map((character) => character.name)).not.toContain('Porthkellis');
  });

  it('reads a verb after a named person as a verb, not a place ("Oren Vale keeps the toll")', async () => {
    for (const [setting, name, notAPlace] of [
      ['A ferry crossing on a wide brown river, where the ferryman Oren Vale keeps the toll.', 'Oren Vale', 'Vale keeps'],
      ['A mountain pass in winter, where the innkeeper Brand Holloway keeps the only fire.', 'Brand Holloway', 'Holloway keeps'],
    ] as const) {
      for (const seed of [1, 2, 3]) {
        const opening = await writeScene(sceneTask({ setting, seed }), seed);
        expect(opening.scene).toContain(name);
        expect(opening.scene).not.toContain(notAPlace);
      }
    }
    // The same noun is still a place where it names one.
    expect((await writeScene(sceneTask({ setting: 'The ruined keep above the valley, where wolves howl at night.' }))).scene).toMatch(/\bkeep\b/i);
  });

  it('makes the verb agree with a plural place or topic ("the docks feel", never "the docks feels")', async () => {
    const setting = 'A harbour town sinking under old debts, where the docks flood at every high tide and smugglers trade forged letters by night.';
    // The place or topic as the subject: a sentence's start, or after "that", "say" or "even".
    const mismatched = /(?:^|[.!?]\s+|\b(?:that|say|even) )the (docks|smugglers) (is|matters|seems|feels|has)\b/i;
    let plural = 0;
    for (const [seed, storyTitle] of Array.from({ length: 40 }, (_, i) => i + 1).flatMap((seed) => ['Low Water', 'The Dark Light', 'Debts'].map((title) => [seed, title] as const))) {
      for (const sceneNumber of [1, 2, 3]) {
        const { scene } = await writeScene(sceneTask({ setting, seed, storyTitle, sceneNumber, recentScenes: sceneNumber > 1 ? ['You arrive at the docks.'] : [] }), seed);
        expect(scene).not.toMatch(mismatched);
        plural += (scene.match(/(?:^|[.!?]\s+|\b(?:that|say|even) )the (docks|smugglers) (are|matter|seem|feel|have)\b/gi) ?? []).length;
      }
    }
    // The templates with a plural subject really came up.
    expect(plural).toBeGreaterThan(3);
  });

  it('never gives someone a goal about their own kind (the harbour-master owes no debt to the harbourmaster)', async () => {
    const setting = 'A river port sinking under old debts, where the harbour-master takes bribes and the docks flood at every high tide.';
    let harbourMasters = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const { characters } = await writeScene(sceneTask({ setting, seed, storyTitle: 'Salt Debts' }), seed);
      for (const character of characters ?? []) {
        if (!/^a harbour-master\b/i.test(character.description ?? '')) continue;
        harbourMasters++;
        expect(character.goals ?? '').not.toMatch(/harbou?r-?master/i);
      }
    }
    expect(harbourMasters).toBeGreaterThan(3);
  });

  it('introduces someone only talked about so far when they first appear, instead of having them simply speak', async () => {
    const kestrel = { name: 'Kestrel Penhallow', description: 'A lamp-lighter with a heavy brass earring, talked about at the river port but not seen for days.' };
    for (const seed of [1, 2, 3, 4]) {
      const scene = await writeScene(
        sceneTask({ sceneNumber: 2, seed, recentScenes: ['Twice you hear a whispered question about Kestrel Penhallow.'], characters: [kestrel], chosenAction: 'Ask Kestrel Penhallow about the flood' }),
        seed,
      );
      expect(scene.scene).toMatch(/Kestrel Penhallow(,|:| is| turns out)[^.]*a lamp-lighter with a heavy brass earring/);
      expect(scene.characters?.find((character) => character.name === kestrel.name)?.description).toMatch(/^A lamp-lighter with a heavy brass earring, met at /);
    }
  });

  it('falls back to a generic place for a setting it has no vocabulary for', async () => {
    const scene = await writeScene(sceneTask({ setting: 'Somewhere unusual.' }));
    expect(scene.choices).toHaveLength(3);
    expect(scene.scene.length).toBeGreaterThan(100);
  });

  it('follows the chosen action visibly in the next scene', async () => {
    const scene = await writeScene(
      sceneTask({ sceneNumber: 2, recentScenes: ['You arrive at the pier.'], chosenAction: 'Examine the brass spyglass' }),
    );
    expect(scene.scene).toContain('examine the brass spyglass');
  });

  it('makes the scene about the player\'s instruction, in the player\'s words', async () => {
    const known: TaskCharacter[] = [{ name: 'Mara Quill', description: 'A harbour pilot.', mood: 'wary', trust: 0.2 }];
    const scene = await writeScene(
      sceneTask({
        sceneNumber: 2,
        recentScenes: ['You arrive at the pier.'],
        chosenAction: 'Ask Mara about the missing ships',
        playerInstruction: 'look for the lighthouse keeper',
        characters: known,
      }),
    );
    expect(scene.scene).toContain('ask Mara about the missing ships');
    expect(scene.scene).toContain('look for the lighthouse keeper');
    expect(scene.choices.join(' ')).toContain('the lighthouse keeper');
    const mara = scene.characters.find((character) => character.name === 'Mara Quill');
    expect(mara?.role).toBe('present');
    expect(`${mara?.thought} ${mara?.reaction}`).toMatch(/ask|lighthouse keeper/);
  });

  it('writes every character\'s reaction and thought about what the player just did', async () => {
    const scene = await writeScene(
      sceneTask({ sceneNumber: 3, recentScenes: ['…'], chosenAction: 'Head for the breakwater', characters: [{ name: 'Tobias Venn' }, { name: 'Wren Hale' }] }),
    );
    for (const character of scene.characters.filter((entry) => entry.role === 'present')) {
      expect(character.reaction).toContain('head for the breakwater');
      expect(character.thought).toMatch(/head for the breakwater|make (their|your) choice|choice/);
    }
  });

  it('describes someone only talked about until now by the meeting once they appear', async () => {
    const heardOf = 'A harbour pilot with salt-cracked hands, talked about at the fish market but not seen for days.';
    const scene = await writeScene(
      sceneTask({ sceneNumber: 4, recentScenes: ['…'], chosenAction: 'Wait and watch', characters: [{ name: 'Tobias Venn', description: heardOf }] }),
    );
    const tobias = scene.characters.find((entry) => entry.name === 'Tobias Venn');
    expect(tobias?.role).toBe('present');
    expect(tobias?.description).toMatch(/^A harbour pilot with salt-cracked hands, met at .+\.$/);
    expect(tobias?.description).not.toContain('not seen for days');
  });

  it('keeps the names of existing characters and brings new people in now and then', async () => {
    const known: TaskCharacter[] = [{ name: 'Mara Quill' }, { name: 'Tobias Venn' }];
    let scenesWithNewcomers = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const scene = await writeScene(sceneTask({ seed, sceneNumber: 4, recentScenes: ['…'], chosenAction: 'Wait and watch', characters: known }));
      const names = scene.characters.map((character) => character.name);
      expect(names.filter((name) => known.some((character) => character.name === name)).length).toBeGreaterThan(0);
      if (names.some((name) => !known.some((character) => character.name === name))) scenesWithNewcomers++;
    }
    expect(scenesWithNewcomers).toBeGreaterThan(0);
    expect(scenesWithNewcomers).toBeLessThan(12);
  });

  it('never gives two people in one scene the same words', async () => {
    const known: TaskCharacter[] = [{ name: 'Mara Quill' }, { name: 'Tobias Venn' }, { name: 'Ada Locke' }, { name: 'Jory Pell' }];
    let scenesWithSeveralSpeakers = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const scene = await writeScene(sceneTask({ seed, sceneNumber: 2 + (seed % 9), recentScenes: ['…'], chosenAction: 'Wait and watch', characters: known }), seed);
      const quoted = [...scene.scene.matchAll(/"([^"]+)," [A-Z]/g)].map((match) => match[1]!);
      if (quoted.length > 1) scenesWithSeveralSpeakers++;
      expect(new Set(quoted).size).toBe(quoted.length);
    }
    expect(scenesWithSeveralSpeakers).toBeGreaterThan(10);
  });

  it('never has anyone repeat a line spoken in the last ten scenes, whoever said it', async () => {
    const provider = createOfflineProvider({ seed: 5 });
    const characters: TaskCharacter[] = [];
    const scenes: string[] = [];
    const linesOf = (scene: string) => [...scene.matchAll(/"([^"]+?),?"/g)].map((match) => match[1]!.toLowerCase());
    let chosenAction: string | undefined;
    for (let sceneNumber = 1; sceneNumber <= 24; sceneNumber++) {
      const recentScenes = scenes.slice(-4);
      const task = sceneTask({ seed: 500 + sceneNumber, sceneNumber, recentScenes, characters: [...characters] });
      if (chosenAction) task.chosenAction = chosenAction;
      const output = parseSceneOutput((await provider.complete(request(task))).text, { choiceCount: 3 });
      const before = new Set(scenes.slice(-10).flatMap(linesOf));
      for (const line of linesOf(output.scene)) expect(before.has(line), `scene ${sceneNumber} repeats "${line}"`).toBe(false);
      for (const character of output.characters) if (!characters.some((known) => known.name === character.name)) characters.push({ name: character.name });
      scenes.push(output.scene);
      chosenAction = output.choices[sceneNumber % 3];
    }
  });

  it('offers exactly the configured number of distinct choices', async () => {
    for (const choiceCount of [2, 3, 5, 9]) {
      const scene = await writeScene(sceneTask({ choiceCount }));
      expect(scene.choices).toHaveLength(choiceCount);
      expect(new Set(scene.choices).size).toBe(choiceCount);
    }
  });

  it('does not read the same over 20 turns', async () => {
    const provider = createOfflineProvider({ seed: 99 });
    const characters: TaskCharacter[] = [];
    const scenes: string[] = [];
    let chosenAction: string | undefined;
    for (let sceneNumber = 1; sceneNumber <= 20; sceneNumber++) {
      const task = sceneTask({ seed: 1000 + sceneNumber, sceneNumber, recentScenes: scenes.slice(-3), characters: [...characters] });
      if (chosenAction) task.chosenAction = chosenAction;
      const output = parseSceneOutput((await provider.complete(request(task))).text, { choiceCount: 3 });
      for (const character of output.characters) {
        if (!characters.some((known) => known.name === character.name)) characters.push({ name: character.name });
      }
      scenes.push(output.scene);
      chosenAction = output.choices[sceneNumber % 3];
    }
    expect(new Set(scenes).size).toBe(20);
    const openings = new Set(scenes.map((scene) => scene.split(/[.!?]/)[0]));
    expect(openings.size).toBeGreaterThanOrEqual(12);
    const firstParagraphStarts = new Set(scenes.map((scene) => scene.split(' ').slice(0, 3).join(' ')));
    expect(firstParagraphStarts.size).toBeGreaterThanOrEqual(4);
  });
});

describe('offline provider: talk, summary and plain answers', () => {
  const mara: TaskCharacter = {
    name: 'Mara Quill',
    personality: 'secretive and patient',
    mood: 'wary',
    trust: 0.6,
    memories: ['You helped her haul the nets in the storm.'],
  };

  it('answers a character talk in character and about what was asked', async () => {
    const provider = createOfflineProvider({ seed: 3 });
    const completion = await provider.complete(
      request({ kind: 'talk', setting: harbourSetting, character: mara, message: 'Where is the lighthouse keeper?', seed: 5 }),
    );
    expect(completion.text).toContain('lighthouse keeper');
    expect(completion.text).not.toMatch(/^\{/);
    expect(completion.text).toContain("didn't hear it from me");
  });

  it('lets trust change the tone of a talk reply', async () => {
    const provider = createOfflineProvider({ seed: 3 });
    const ask = (trust: number) =>
      provider.complete(request({ kind: 'talk', setting: harbourSetting, character: { ...mara, trust, memories: [] }, message: 'Tell me about the ships?', seed: 5 }));
    const [trusting, hostile] = await Promise.all([ask(0.9), ask(-0.8)]);
    expect(trusting.text).not.toBe(hostile.text);
    expect(hostile.text).toMatch(/why would I|none of your business|after what you did/i);
  });

  it('summarises scenes compactly, keeping first sentences and names', async () => {
    const provider = createOfflineProvider({ seed: 3 });
    const scenes = [
      'You arrive at the pier as the fog rolls in. Mara Quill, a harbour pilot, watches you from the bollards.',
      'You ask Mara about the missing ships. She says that Tobias Venn saw the last one leave.',
    ];
    const { text } = await provider.complete(request({ kind: 'summary', scenes, previousSummary: 'You came to find your brother.', seed: 1 }));
    expect(text).toContain('You came to find your brother.');
    expect(text).toContain('You arrive at the pier as the fog rolls in.');
    expect(text).toContain('You ask Mara about the missing ships.');
    expect(text).toContain('Tobias Venn');
    const long = await provider.complete(request({ kind: 'summary', scenes: Array.from({ length: 200 }, () => scenes[0]!), seed: 1 }));
    expect(long.text.length).toBeLessThanOrEqual(1500);
  });

  it('answers a request without a task from the last user message', async () => {
    const provider = createOfflineProvider({ seed: 3 });
    const { text } = await provider.complete({ messages: [{ role: 'system', content: 'x' }, { role: 'user', content: 'What is the capital of France?' }] });
    expect(text).toContain('What is the capital of France?');
    expect(text).toMatch(/offline/i);
  });
});

describe('offline provider: streaming, latency and abort', () => {
  it('streams the same text as complete, a few words at a time', async () => {
    const provider = createOfflineProvider({ seed: 11 });
    const task = sceneTask({ sceneNumber: 2, recentScenes: ['…'], chosenAction: 'Head for the breakwater' });
    const chunks = await collect(provider.stream(request(task)));
    const completion = await provider.complete(request(task));
    expect(chunks.join('')).toBe(completion.text);
    expect(chunks.length).toBeGreaterThan(20);
    for (const chunk of chunks) expect(chunk.trim().split(/\s+/).length).toBeLessThanOrEqual(3);
  });

  it('spreads the configured latency across the call', async () => {
    const provider = createOfflineProvider({ seed: 11, latencyMs: 120 });
    const started = performance.now();
    await provider.complete(request(sceneTask()));
    expect(performance.now() - started).toBeGreaterThanOrEqual(100);
    const streamStarted = performance.now();
    await collect(provider.stream(request(sceneTask())));
    expect(performance.now() - streamStarted).toBeGreaterThanOrEqual(100);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const provider = createOfflineProvider({ seed: 11 });
    const controller = new AbortController();
    controller.abort();
    await expect(provider.complete(request(sceneTask()), controller.signal)).rejects.toMatchObject({ name: 'AbortError' });
    await expect(collect(provider.stream(request(sceneTask()), controller.signal))).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('stops promptly when aborted in the middle of a slow call or stream', async () => {
    const provider = createOfflineProvider({ seed: 11, latencyMs: 5000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = performance.now();
    await expect(provider.complete(request(sceneTask()), controller.signal)).rejects.toMatchObject({ name: 'AbortError' });
    expect(performance.now() - started).toBeLessThan(1000);

    const streamController = new AbortController();
    const chunks: string[] = [];
    const streaming = (async () => {
      for await (const chunk of provider.stream(request(sceneTask()), streamController.signal)) chunks.push(chunk);
    })();
    setTimeout(() => streamController.abort(), 100);
    await expect(streaming).rejects.toMatchObject({ name: 'AbortError' });
    expect(chunks.length).toBeGreaterThan(0);
  });
});

describe('offline provider: where a scene happens', () => {
  it('says how the player came to a place the last scene was not at, when they did not ask to go there', () => {
    const setting = 'A river port sinking under old debts, where the harbour-master takes bribes.';
    const lastScene = 'You stand at the river port, listening to the gulls. Oskar Penhallow nods at you.';
    let moved = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const task = sceneTask({ setting, seed, sceneNumber: 2, recentScenes: [lastScene], chosenAction: 'Ask Oskar Penhallow about the bribes', characters: [{ name: 'Oskar Penhallow' }] });
      const plan = planScene(task, createSeededRandom(seed));
      const written = writeSceneProse(task, createSeededRandom(seed));
      const firstParagraph = written.scene.split('\n\n')[0]!;
      if (!plan.movedOn) {
        expect(plan.place).toBe('the river port');
        continue;
      }
      moved++;
      expect(plan.place).not.toBe('the river port');
      const firstSentence = firstParagraph.split(/(?<=\.) /)[0]!;
      expect(firstSentence).toContain(plan.place);
      expect(firstSentence).toMatch(/find yourself at|leads you on to|wandering brings you to|steps take you to|move on to|at last you come to/i);
    }
    expect(moved).toBeGreaterThan(3);
  });

  it('does not say again how the player got somewhere they asked to go', () => {
    const setting = 'A river port sinking under old debts, where the harbour-master takes bribes and the docks flood at every high tide.';
    for (let seed = 1; seed <= 40; seed++) {
      const task = sceneTask({ setting, seed, sceneNumber: 3, recentScenes: ['You stand at the river port, listening to the gulls.'], chosenAction: 'Head for the docks' });
      const plan = planScene(task, createSeededRandom(seed));
      expect(plan.place).toBe('the docks');
      expect(plan.movedOn).toBe(false);
      expect(writeSceneProse(task, createSeededRandom(seed)).scene).not.toMatch(/find yourself at|leads you on to|wandering brings you to|steps take you to|move on to|at last you come to/i);
    }
  });

  it('goes where the player heads, not where they only ask about', () => {
    const setting = 'A river port sinking under old debts, where the harbour-master takes bribes and the docks flood at every high tide.';
    const places = (chosenAction: string) =>
      new Set(Array.from({ length: 30 }, (_, i) => planScene(sceneTask({ setting, seed: i + 1, sceneNumber: 3, recentScenes: ['You stand at the river port.'], chosenAction }), createSeededRandom(i + 1)).place));
    expect([...places('Head for the docks')]).toEqual(['the docks']);
    expect(places('Ask Oskar Penhallow about the docks').size).toBeGreaterThan(1);
  });

  it('brings to a new place only the people met there before and those who were with the player', () => {
    const setting = 'A river port sinking under old debts, where the harbour-master takes bribes.';
    const lastScene = 'You stand at the river port with Oskar Penhallow, listening to the gulls.';
    const characters = [
      { name: 'Oskar Penhallow', description: 'A harbour-master with a tattooed forearm, met at the river port.' },
      { name: 'Liesel Marsh', description: 'A harbour pilot with grey eyes, met at the docks.' },
      { name: 'Dagny Thorne', description: 'A smuggler with a scar through one eyebrow, met at the old boathouse.' },
    ];
    let elsewhere = 0;
    for (let seed = 1; seed <= 80; seed++) {
      const plan = planScene(sceneTask({ setting, seed, sceneNumber: 3, recentScenes: [lastScene], chosenAction: 'Wait and watch', characters }), createSeededRandom(seed));
      if (plan.place === 'the river port') continue;
      elsewhere++;
      const known = plan.cast.filter((member) => !member.isNew).map((member) => member.name);
      const allowed = characters.filter((character) => character.name === 'Oskar Penhallow' || character.description.includes(plan.place)).map((character) => character.name);
      expect(known.every((name) => allowed.includes(name)), `${plan.place}: ${known.join(', ')}`).toBe(true);
    }
    expect(elsewhere).toBeGreaterThan(5);
  });
});
