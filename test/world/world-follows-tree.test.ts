import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Database } from '../../src/db/index.js';
import { createStory } from '../../src/story/create-story.js';
import { takeTurn } from '../../src/story/take-turn.js';
import { rewindStory } from '../../src/story/rewind-story.js';
import { talkToCharacter, talkFamiliarityDelta } from '../../src/characters/talk-to-character.js';
import { updateCharacter } from '../../src/characters/edit-character.js';
import { emotionSmoothing } from '../../src/characters/write-scene-characters.js';
import { listStoryCharacters } from '../../src/characters/character-views.js';
import { foldWorldEvents, loadPathEvents, readRelationshipsAt, relationshipKey } from '../../src/world/index.js';
import { createCountingProvider } from '../helpers/counting-provider.js';
import { createTestDatabase, type BackendName } from '../helpers/db.js';
import { createTestEngine } from '../helpers/engine.js';

/**
 * Invariant 7, by property: after random sequences of advance, regenerate, rewind, talk and
 * edit, the world read at every scene equals what this test computes on its own by folding,
 * along that scene's path, the changes it asked the model (and the player) to make.
 */

const pool = ['Mara Vell', 'Tobin Hale', 'Ysolde', 'Corin Ash', 'Petra Quill'];
const moods = ['wary', 'glad', 'tired', 'curious', 'angry'];

interface ModelCharacter {
  mood: string;
  description: string;
  valence: number;
  /** Present at a scene of this path: until then the description is hearsay, which the first appearance replaces. */
  seen: boolean;
}
interface ModelRelationship {
  sentiment: number;
  trust: number;
  familiarity: number;
  type: string;
  count: number;
}
interface ModelWorld {
  characters: Map<string, ModelCharacter>;
  relationships: Map<string, ModelRelationship>;
}

const clone = (world: ModelWorld): ModelWorld => ({
  characters: new Map([...world.characters].map(([k, v]) => [k, { ...v }])),
  relationships: new Map([...world.relationships].map(([k, v]) => [k, { ...v }])),
});
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const round6 = (v: number) => Math.round(v * 1e6) / 1e6;

function adjust(world: ModelWorld, key: string, d: { sentiment?: number; trust?: number; familiarity?: number; type?: string }): void {
  const old = world.relationships.get(key) ?? { sentiment: 0, trust: 0, familiarity: 0, type: 'acquaintance', count: 0 };
  world.relationships.set(key, {
    sentiment: clamp(round6(old.sentiment + (d.sentiment ?? 0)), -1, 1),
    trust: clamp(round6(old.trust + (d.trust ?? 0)), 0, 1),
    familiarity: clamp(round6(old.familiarity + (d.familiarity ?? 0)), 0, 1),
    type: d.type ?? old.type,
    count: old.count + 1,
  });
}

/** A small deterministic generator for the scripted model, seeded per run. */
function prng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

interface ScriptedCharacter {
  name: string;
  role: 'present' | 'mentioned';
  mood?: string;
  description: string;
  emotion?: { valence: number };
  relationships?: { target: string; trustDelta: number; sentimentDelta: number; familiarityDelta: number; type?: string }[];
}

function scriptScene(random: () => number, call: number): ScriptedCharacter[] {
  const count = 1 + Math.floor(random() * 2);
  const names = [...pool].sort(() => random() - 0.5).slice(0, count);
  return names.map((name, i) => {
    const present = i === 0 || random() < 0.5;
    const character: ScriptedCharacter = { name, role: present ? 'present' : 'mentioned', description: `${name} as seen in call ${call}` };
    if (!present) return character;
    if (random() < 0.8) character.mood = moods[Math.floor(random() * moods.length)]!;
    if (random() < 0.7) character.emotion = { valence: Math.round((random() * 2 - 1) * 100) / 100 };
    const step = () => Math.round((random() * 0.4 - 0.15) * 100) / 100;
    character.relationships = [{ target: 'player', trustDelta: step(), sentimentDelta: step(), familiarityDelta: step(), ...(random() < 0.2 ? { type: 'ally' } : {}) }];
    if (random() < 0.4) {
      const other = pool[Math.floor(random() * pool.length)]!;
      if (other !== name) character.relationships.push({ target: other, trustDelta: step(), sentimentDelta: step(), familiarityDelta: 0 });
    }
    return character;
  });
}

/** What the scene's commit does to the world, computed independently of the engine. */
function applyScene(world: ModelWorld, scripted: ScriptedCharacter[], firstDescription: Map<string, string>): void {
  for (const c of scripted) {
    if (!firstDescription.has(c.name)) firstDescription.set(c.name, c.description);
    if (!world.characters.has(c.name)) world.characters.set(c.name, { mood: 'neutral', description: firstDescription.get(c.name)!, valence: 0, seen: false });
  }
  for (const c of scripted.filter((s) => s.role === 'present')) {
    const state = world.characters.get(c.name)!;
    if (!state.seen) state.description = c.description;
    state.seen = true;
    if (c.mood) state.mood = c.mood;
    if (c.emotion) state.valence = clamp(state.valence + emotionSmoothing * (c.emotion.valence - state.valence), -1, 1);
  }
  for (const c of scripted.filter((s) => s.role === 'present')) {
    for (const r of c.relationships ?? []) {
      const target = r.target === 'player' ? null : r.target;
      if (target !== null && !world.characters.has(target)) continue;
      adjust(world, `${c.name}>${target ?? 'player'}`, { trust: r.trustDelta, sentiment: r.sentimentDelta, familiarity: r.familiarityDelta, ...(r.type ? { type: r.type } : {}) });
    }
  }
}

type Op = { kind: 'advance' | 'regenerate' | 'rewind' | 'talk' | 'edit'; pick: number };
const opArbitrary = fc.record({
  kind: fc.constantFrom<Op['kind']>('advance', 'advance', 'advance', 'regenerate', 'rewind', 'talk', 'edit'),
  pick: fc.nat({ max: 1_000_000 }),
});

async function runSequence(db: Database, seed: number, ops: Op[]): Promise<void> {
  const random = prng(seed);
  let lastScript: ScriptedCharacter[] = [];
  const provider = createCountingProvider({
    latencyMs: 0,
    answer: (request, call) => {
      if (request.task?.kind !== 'scene') return 'I hear you.';
      lastScript = scriptScene(random, call);
      return JSON.stringify({ scene: `Scene of call ${call}.`, choices: ['Go north', 'Go south', 'Wait'], characters: lastScript });
    },
  });
  const deps = createTestEngine(db, provider);
  const firstDescription = new Map<string, string>();
  const worlds = new Map<string, ModelWorld>();
  const parents = new Map<string, string | null>();
  const { story, opening } = await createStory(deps, { title: `Property ${seed}`, setting: 'A river town' });
  const storyId = story.id;
  const opened: ModelWorld = { characters: new Map(), relationships: new Map() };
  applyScene(opened, lastScript, firstDescription);
  worlds.set(opening.scene.id, opened);
  parents.set(opening.scene.id, null);
  let head = opening.scene.id;

  for (const op of ops) {
    if (op.kind === 'advance' || (op.kind === 'regenerate' && parents.get(head) === null)) {
      const result = await takeTurn(deps, { storyId, kind: 'advance', choiceNumber: 1 + (op.pick % 3), fromSceneId: head });
      const world = clone(worlds.get(head)!);
      applyScene(world, lastScript, firstDescription);
      worlds.set(result.scene.id, world);
      parents.set(result.scene.id, head);
      head = result.scene.id;
    } else if (op.kind === 'regenerate') {
      const parent = parents.get(head)!;
      const result = await takeTurn(deps, { storyId, kind: 'regenerate', fromSceneId: head });
      const world = clone(worlds.get(parent!)!);
      applyScene(world, lastScript, firstDescription);
      worlds.set(result.scene.id, world);
      parents.set(result.scene.id, parent);
      head = result.scene.id;
    } else if (op.kind === 'rewind') {
      const scenes = [...worlds.keys()];
      head = scenes[op.pick % scenes.length]!;
      await rewindStory(deps, storyId, { toSceneId: head });
    } else {
      const known = await listStoryCharacters(db, storyId);
      if (known.length === 0) continue;
      const character = known[op.pick % known.length]!;
      const world = worlds.get(head)!;
      if (op.kind === 'talk') {
        await talkToCharacter(deps, { storyId, characterId: character.id, message: `Hello ${op.pick}` });
        adjust(world, `${character.name}>player`, { familiarity: talkFamiliarityDelta });
      } else {
        const mood = `edited ${op.pick % 97}`;
        await updateCharacter(db, { characterId: character.id, expectedVersion: character.version, patch: { mood } });
        world.characters.get(character.name)!.mood = mood;
      }
    }
  }

  expect(worlds.size).toBeGreaterThan(ops.filter((o) => o.kind === 'advance').length);
  for (const [sceneId, expected] of worlds) {
    const characters = await listStoryCharacters(db, storyId, { atSceneId: sceneId });
    const byName = new Map(characters.map((c) => [c.name, c]));
    expect([...byName.keys()].sort(), `characters at ${sceneId}`).toEqual([...expected.characters.keys()].sort());
    for (const [name, state] of expected.characters) {
      const actual = byName.get(name)!;
      expect(actual.met).toBe(true);
      expect(actual.mood, `${name}'s mood at ${sceneId}`).toBe(state.mood);
      expect(actual.description, `${name}'s description at ${sceneId}`).toBe(state.description);
      expect(actual.emotion.valence).toBeCloseTo(state.valence, 4);
    }
    const nameOf = new Map(characters.map((c) => [c.id, c.name]));
    const relationships = await readRelationshipsAt(db, storyId, sceneId);
    const actualRelations = new Map(relationships.map((r) => [`${nameOf.get(r.characterId)}>${r.targetCharacterId === null ? 'player' : nameOf.get(r.targetCharacterId)}`, r]));
    expect([...actualRelations.keys()].sort(), `relationships at ${sceneId}`).toEqual([...expected.relationships.keys()].sort());
    for (const [key, r] of expected.relationships) {
      const actual = actualRelations.get(key)!;
      expect(actual.trust, key).toBeCloseTo(r.trust, 4);
      expect(actual.sentiment, key).toBeCloseTo(r.sentiment, 4);
      expect(actual.familiarity, key).toBeCloseTo(r.familiarity, 4);
      expect(actual.type).toBe(r.type);
      expect(actual.interactionCount).toBe(r.count);
    }
    // The engine's own record agrees too: folding its events along the path gives its snapshot.
    const folded = foldWorldEvents(await loadPathEvents(db, storyId, sceneId));
    expect(folded.characters.size).toBe(characters.length);
    for (const c of characters) {
      expect(folded.characters.get(c.id)?.mood).toBe(c.mood);
      expect(folded.characters.get(c.id)?.description).toBe(c.description);
      expect(folded.characters.get(c.id)?.valence).toBeCloseTo(c.emotion.valence, 4);
    }
    expect(folded.relationships.size).toBe(relationships.length);
    for (const r of relationships) expect(folded.relationships.get(relationshipKey(r.characterId, r.targetCharacterId))?.trust).toBeCloseTo(r.trust, 4);
  }
}

const seeds = [101, 202, 303];
const steps = 300;

describe.each<BackendName>(['server', 'embedded'])('the world follows the story tree on the %s backend', (backend) => {
  let db: Database;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ db, dispose } = await createTestDatabase(backend));
  });
  afterAll(async () => dispose());

  it.each(seeds)(`matches an independent fold at every scene after ${steps} random steps (seed %i)`, async (seed) => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArbitrary, { minLength: steps, maxLength: steps }), (ops) => runSequence(db, seed, ops)),
      { seed, numRuns: 1, endOnFailure: true },
    );
  }, 900_000);
});
