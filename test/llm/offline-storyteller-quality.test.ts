import { describe, expect, it } from 'vitest';
import type { CompletionRequest, StoryTask, TaskCharacter } from '../../src/llm/provider.js';
import { createOfflineProvider } from '../../src/llm/providers/offline.js';
import { voiceIn } from '../../src/llm/providers/offline/persona.js';
import { parseSceneOutput } from '../../src/story/parse-scene.js';
import type { SceneOutput } from '../../src/story/scene-output.js';
import { findLeaks, findRepeats, instructionCarriedOut, settingWordsUsed } from '../helpers/prose-quality.js';

type SceneTask = Extract<StoryTask, { kind: 'scene' }>;

const lighthouse =
  'A remote lighthouse on the Cornish coast in 1893. The keeper has vanished; his daughter Ysolde tends the lamp while storms batter the cliffs and the villagers of Porthkellis whisper about wreckers.';

function request(task: StoryTask): CompletionRequest {
  return { messages: [{ role: 'user', content: 'Write the scene.' }], task };
}

async function scene(task: Partial<SceneTask>, seed = 7): Promise<SceneOutput> {
  const full: SceneTask = { kind: 'scene', storyTitle: 'Gull Rock', setting: lighthouse, sceneNumber: 1, recentScenes: [], characters: [], seed: 42, choiceCount: 3, ...task };
  return parseSceneOutput((await createOfflineProvider({ seed }).complete(request(full))).text, { choiceCount: 3 });
}

const firstParagraph = (text: string) => text.split(/\n\s*\n/)[0]!;

/**
 * A path as the engine builds it: the provider sees the last four scenes and the characters
 * so far with their stored descriptions and memories (memories as the engine writes them).
 */
async function playPath(turns: number, instructions: string[], seed = 5) {
  const provider = createOfflineProvider({ seed });
  const characters: TaskCharacter[] = [];
  const scenes: string[] = [];
  const thoughts: string[] = [];
  const outputs: SceneOutput[] = [];
  let chosenAction: string | undefined;
  for (let sceneNumber = 1; sceneNumber <= turns; sceneNumber++) {
    const task: SceneTask = {
      kind: 'scene', storyTitle: 'Gull Rock', setting: lighthouse, sceneNumber, recentScenes: scenes.slice(-4),
      characters: structuredClone(characters), seed: 1000 + sceneNumber * 17, choiceCount: 3,
    };
    if (chosenAction) task.chosenAction = chosenAction;
    const instruction = sceneNumber > 1 && sceneNumber % 2 === 0 ? instructions[(sceneNumber / 2) % instructions.length] : undefined;
    if (instruction) task.playerInstruction = instruction;
    const output = parseSceneOutput((await provider.complete(request(task))).text, { choiceCount: 3 });
    outputs.push(output);
    for (const character of output.characters.filter((entry) => entry.role === 'present')) {
      if (character.thought) thoughts.push(character.thought);
      const memory = `Scene ${sceneNumber}: the player chose to ${chosenAction ?? 'arrive'}. ${character.thought ?? ''}`;
      const known = characters.find((entry) => entry.name === character.name);
      if (known) known.memories = [memory, ...(known.memories ?? [])].slice(0, 3);
      else characters.push({ name: character.name, ...(character.description ? { description: character.description } : {}), memories: [memory] });
    }
    scenes.push(output.scene);
    chosenAction = output.choices[(sceneNumber * 7) % 3];
  }
  return { scenes, thoughts, characters, outputs };
}

describe('offline storyteller: the player\'s instruction', () => {
  it('carries out a numbered, bracketed instruction as one grammatical second-person sentence', async () => {
    const output = await scene({ sceneNumber: 2, recentScenes: ['You arrive at the lighthouse.'], playerInstruction: '1 (ask Ysolde where the lighthouse keeper is)', characters: [{ name: 'Ysolde' }] });
    const opening = firstParagraph(output.scene);
    expect(opening).toMatch(/(^|[.,] |\b)(You|you) ask Ysolde where the lighthouse keeper is\./);
    expect(output.scene).not.toMatch(/\(|\b1\b|keeper is\b(?!\.)/);
  });

  it('re-inflects first-person, third-person and -ing forms and quotes questions', async () => {
    const cases: [string, RegExp][] = [
      ['I climb the stairs to the lamp room', /you climb the stairs to the lamp room\./i],
      ['asks Ysolde about the wreckers', /you ask Ysolde about the wreckers\./i],
      ['climbing down to the cliffs', /you climb down to the cliffs\./i],
      ['I want to light the lamp', /you light the lamp\./i],
      ['Where did the keeper go?', /you ask, "Where did the keeper go\?"/i],
    ];
    for (const [instruction, expected] of cases) {
      const output = await scene({ sceneNumber: 3, recentScenes: ['…'], chosenAction: 'Head for the cliffs', playerInstruction: instruction });
      expect(firstParagraph(output.scene)).toMatch(expected);
      expect(instructionCarriedOut(instruction, output.scene).carried).toBe(true);
    }
  });
});

describe('offline storyteller: what an instruction is about', () => {
  /** Everything the scene writes: prose, choices, and each character's description, thought and reaction. */
  const allText = (output: SceneOutput) =>
    [output.scene, ...output.choices, ...output.characters.flatMap((c) => [c.description, c.thought, c.reaction])].filter(Boolean).join('\n');

  it('takes the thing asked, told or searched about as the topic, never a run of the instruction', async () => {
    const cases: [string, string, RegExp][] = [
      ['(ask the wreckers about the lamp)', 'Ask Ysolde what they know about the lamp', /(about|of|with|makes|for) the wreckers about/],
      ['(ask the villagers what they know about the keeper)', 'Ask Ysolde what they know about the keeper', /(about|of|with|makes|for) the villagers what/],
      ['(ask what they know about the wreckers)', 'Ask Ysolde what they know about the wreckers', /about what they know/],
      ['(ask where the keeper went)', 'Ask Ysolde what they know about the keeper', /(about|of|with|makes) the keeper went/],
      ['(tell Ysolde about the wreckers)', 'Ask Ysolde what they know about the wreckers', /(about|of|with|makes|for) Ysolde about/],
      ['(find out what the keeper knows)', 'Search', /(about|of|with|makes) the keeper knows/],
      ['(search the cliffs for the keeper)', 'for the keeper', /for the cliffs\b/],
      ['(follow the novice quietly)', 'about the novice', /(about|of|with|makes|for|leave|it's) the novice quietly/],
      ['(ask about the keeper\'s family)', 'about the keeper\'s family', /(about|of|with|makes|for|leave|it's) the keeper's\b(?! family)/],
    ];
    for (const [instruction, lead, glued] of cases) {
      for (const seed of [3, 7, 11]) {
        const output = await scene({ sceneNumber: 2, recentScenes: ['You arrive at the lighthouse, where Ysolde is trimming the wick.'], playerInstruction: instruction, characters: [{ name: 'Ysolde' }] }, seed);
        expect(output.choices[0], `${instruction}, seed ${seed}`).toContain(lead);
        expect(allText(output), `${instruction}, seed ${seed}`).not.toMatch(glued);
        // One topic per phrase: "about X" never runs into a second "about".
        expect(allText(output)).not.toMatch(/\babout (the|a|an) [^.,;:!?"\n]*\babout\b/);
      }
    }
  });

  it('writes an indirect question as what the player asks, and keeps a noun that looks like a pronoun', async () => {
    const cases: [string, RegExp][] = [
      ['(what they know about the wreckers)', /you ask what they know about the wreckers\./i],
      ['who paid the wreckers', /you ask who paid the wreckers\./i],
      ['(show Ysolde the map of the mine)', /you show Ysolde the map of the mine\./i],
      ['(tell Ysolde the lamp is mine)', /you tell Ysolde the lamp is yours\./i],
    ];
    for (const [instruction, expected] of cases) {
      const output = await scene({ sceneNumber: 2, recentScenes: ['You arrive at the lighthouse.'], playerInstruction: instruction, characters: [{ name: 'Ysolde' }] });
      expect(firstParagraph(output.scene), instruction).toMatch(expected);
      expect(output.scene).not.toMatch(/"What they know|of the yours/);
    }
  });
});

describe('offline storyteller: the setting', () => {
  it('starts a lighthouse story at the lighthouse, in its period, with its people and without pasting the setting', async () => {
    const output = await scene({});
    expect(firstParagraph(output.scene)).toContain('the lighthouse');
    expect(output.scene).toContain('1893');
    expect(output.scene).not.toContain('A remote lighthouse on the Cornish coast');
    expect(output.characters.map((character) => character.name)).toContain('Ysolde');
    expect(settingWordsUsed(lighthouse, output.scene)).toBeGreaterThanOrEqual(3);
  });

  it('offers topics that are the setting\'s nouns, never a year or a stray word', async () => {
    const topics = new Set<string>();
    for (let seed = 1; seed <= 15; seed++) {
      const output = await scene({ seed, sceneNumber: 2, recentScenes: ['…'], chosenAction: 'Wait and watch', characters: [{ name: 'Ysolde' }, { name: 'Mara Quill' }] });
      for (const choice of output.choices) {
        const about = /about (.+)$/.exec(choice)?.[1];
        if (about && !/what they are hiding/.test(about)) topics.add(about);
      }
    }
    expect(topics.size).toBeGreaterThan(0);
    for (const topic of topics) expect(topic).toMatch(/^(the |Porthkellis)/);
    expect([...topics].join(' ')).not.toMatch(/1893|remote|vanished/);
  });
});

describe('offline storyteller: a 50-turn path', () => {
  const instructions = ['1 (ask Ysolde where the lighthouse keeper is)', 'I search the cliffs for wreckers', 'light the lamp', 'Where did the keeper go?', 'the logbook'];

  it('leaks nothing internal, repeats no sentence within 10 scenes and carries out every instruction', async () => {
    const { scenes, thoughts, characters, outputs } = await playPath(50, instructions);
    expect(scenes).toHaveLength(50);
    const leaks = scenes.flatMap((text) => findLeaks(text, thoughts));
    expect(leaks).toEqual([]);
    expect(findRepeats(scenes, characters.map((character) => character.name), 10)).toEqual([]);
    for (const [index, text] of scenes.entries()) {
      const sceneNumber = index + 1;
      if (sceneNumber > 1 && sceneNumber % 2 === 0) {
        const instruction = instructions[(sceneNumber / 2) % instructions.length]!;
        expect(instructionCarriedOut(instruction, text), `scene ${sceneNumber}: ${instruction}`).toMatchObject({ carried: true });
      }
    }
    expect(outputs.every((output) => output.choices.length === 3)).toBe(true);
  });

  it('gives every character a description, manner and voice of their own', async () => {
    const { characters } = await playPath(30, instructions, 8);
    expect(characters.length).toBeGreaterThanOrEqual(4);
    const descriptions = characters.map((character) => character.description ?? '');
    expect(new Set(descriptions).size).toBe(descriptions.length);
    const voices = descriptions.map(voiceIn);
    expect(voices.every(Boolean)).toBe(true);
    expect(new Set(voices).size).toBe(voices.length);
    const manners = descriptions.map((description) => /; (.*)\.$/.exec(description)?.[1]);
    expect(manners.every(Boolean)).toBe(true);
    expect(new Set(manners).size).toBe(manners.length);
  });

  it('gives each character present in a scene a thought of its own', async () => {
    for (const seed of [3, 5, 8, 11]) {
      const { outputs } = await playPath(30, instructions, seed);
      for (const [index, output] of outputs.entries()) {
        const thoughts = output.characters.filter((entry) => entry.role === 'present' && entry.thought).map((entry) => entry.thought);
        expect(new Set(thoughts).size, `seed ${seed}, scene ${index + 1}: ${thoughts.join(' | ')}`).toBe(thoughts.length);
      }
    }
  });

  it('is deterministic: the same path twice is the same text', async () => {
    const first = await playPath(12, instructions, 3);
    const second = await playPath(12, instructions, 3);
    expect(second.scenes).toEqual(first.scenes);
    const other = await playPath(12, instructions, 4);
    expect(other.scenes).not.toEqual(first.scenes);
  });
});

describe('offline storyteller: talk replies', () => {
  const ysolde: TaskCharacter = { name: 'Ysolde', personality: 'patient', mood: 'calm', trust: 0.1, memories: ['Scene 4: the player chose to Confront Ysolde.'] };
  const talk = async (message: string, character: TaskCharacter = ysolde) =>
    (await createOfflineProvider({ seed: 3 }).complete(request({ kind: 'talk', setting: lighthouse, character, message, seed: 9 }))).text;

  it('answers a question about the character about the character, in grammatical English', async () => {
    const reply = await talk('Are you angry with me?', { ...ysolde, mood: 'angry' });
    expect(reply).toContain('Am I angry with you? Yes');
    expect(reply).not.toMatch(/about angry|angry with tend/);
    expect(await talk('Are you angry with me?', { ...ysolde, mood: 'calm', trust: 0.6 })).toContain('Am I angry with you? No');
  });

  it('answers where with a place of the setting, and keeps the subject whole', async () => {
    const reply = await talk('Where is the lighthouse keeper?', { ...ysolde, trust: 0.7 });
    expect(reply).toMatch(/The lighthouse keeper\? Try (the lighthouse|the Cornish coast|the cliffs|Porthkellis)/);
    expect(await talk('Why did the keeper leave?', { ...ysolde, trust: 0.7 })).toContain('Because of the keeper,');
  });

  it('never quotes memories or internal labels', async () => {
    for (const message of ['Hello', 'What happened here?', 'Tell me about the wreckers', 'Can you help me find my brother?']) {
      const reply = await talk(message);
      expect(findLeaks(reply)).toEqual([]);
      expect(reply).not.toContain('Confront Ysolde');
    }
  });
});
