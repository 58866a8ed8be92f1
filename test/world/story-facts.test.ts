import { describe, expect, it } from 'vitest';
import { parseSceneOutput } from '../../src/story/parse-scene.js';
import { createOfflineProvider } from '../../src/llm/providers/offline.js';
import { factKey, foldFacts, sanitizeFacts } from '../../src/world/index.js';

const scene = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ scene: 'You reach the ferry.', choices: ['Board', 'Wait', 'Turn back'], characters: [], ...extra });

describe('story facts in the structured answer', () => {
  it('accepts an answer without facts, and one whose facts are unusable, as a scene', () => {
    expect(parseSceneOutput(scene(), { choiceCount: 3 }).facts).toBeUndefined();
    expect(parseSceneOutput(scene({ facts: 'none' }), { choiceCount: 3 }).facts).toBeUndefined();
    expect(parseSceneOutput(scene({ facts: [{ type: 'weather', text: 'It rains.' }, 7, { type: 'injury' }] }), { choiceCount: 3 }).facts).toBeUndefined();
  });

  it('reads added and resolved facts of each type', () => {
    const output = parseSceneOutput(
      scene({
        facts: [
          { type: 'possession', subject: 'the brass key', text: 'You carry the brass key.' },
          { type: 'Injury', subject: 'your arm', text: 'Your left arm is cut.', status: 'added' },
          { type: 'promise', subject: 'the ferryman', status: 'resolved' },
        ],
      }),
      { choiceCount: 3 },
    );
    expect(output.facts).toEqual([
      { type: 'possession', subject: 'the brass key', text: 'You carry the brass key.', op: 'add' },
      { type: 'injury', subject: 'your arm', text: 'Your left arm is cut.', op: 'add' },
      { type: 'promise', subject: 'the ferryman', text: 'the ferryman', op: 'resolve' },
    ]);
  });

  it('folds changes in path order: a resolve removes the fact its subject names, a later add replaces it', () => {
    const change = (op: 'add' | 'resolve', subject: string, text: string) => ({ op, type: 'possession' as const, key: factKey('possession', subject), text });
    const facts = foldFacts([
      change('add', 'The brass key', 'You carry the brass key.'),
      change('add', 'a lantern', 'You carry a lantern.'),
      change('resolve', 'brass key', ''),
      change('add', 'lantern', 'Your lantern is out of oil.'),
    ]);
    expect([...facts.values()].map((fact) => fact.text)).toEqual(['Your lantern is out of oil.']);
    expect(sanitizeFacts(undefined)).toEqual([]);
  });

  it('has the offline storyteller report the place and what the player takes or promises, the same way every time', async () => {
    const provider = createOfflineProvider({ seed: 4 });
    const request = {
      messages: [],
      task: {
        kind: 'scene' as const,
        storyTitle: 'T',
        setting: 'A harbour town',
        sceneNumber: 3,
        recentScenes: ['You wait.'],
        characters: [],
        seed: 9,
        choiceCount: 3,
        chosenAction: 'Take the brass key',
        playerInstruction: 'promise Mara to come back at dawn',
      },
    };
    const first = parseSceneOutput((await provider.complete(request)).text, { choiceCount: 3 });
    const again = parseSceneOutput((await provider.complete(request)).text, { choiceCount: 3 });
    expect(first.facts).toEqual(again.facts);
    expect(first.facts?.map((fact) => fact.type)).toEqual(['place', 'promise', 'possession']);
    expect(first.facts?.find((fact) => fact.type === 'possession')?.text).toBe('You carry the brass key.');
  });
});
