import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { createStory } from '../../src/story/create-story.js';
import { takeTurn } from '../../src/story/take-turn.js';
import { rewindStory } from '../../src/story/rewind-story.js';
import { updateCharacter } from '../../src/characters/edit-character.js';
import { listStoryCharacters } from '../../src/characters/character-views.js';
import { getOrCreateCharacters } from '../../src/characters/character-repo.js';
import { foldWorldEvents, loadPathEvents } from '../../src/world/index.js';
import { createEmbeddedTestDatabase } from '../helpers/db.js';
import { createCountingProvider } from '../helpers/counting-provider.js';
import { createTestEngine } from '../helpers/engine.js';

/**
 * Someone the story only talked about is described from hearsay; the scene where they first
 * appear in person describes them as they are, and from then on that is who they are on the
 * branch. Scenes are scripted: each turn's model answer is the next one queued.
 */

interface Scripted {
  name: string;
  role: 'present' | 'mentioned';
  description?: string;
}

let db: Database;
beforeAll(async () => {
  db = await createEmbeddedTestDatabase();
});
afterAll(async () => db.close());

async function scriptedStory(opening: Scripted[]) {
  const queue: Scripted[][] = [opening];
  const provider = createCountingProvider({
    latencyMs: 0,
    answer: (request, call) => {
      if (request.task?.kind !== 'scene') return 'I hear you.';
      const characters = queue.shift();
      if (!characters) throw new Error(`no scene scripted for call ${call}`);
      return JSON.stringify({ scene: `Scene of call ${call}.`, choices: ['Go on', 'Wait', 'Leave'], characters });
    },
  });
  const deps = createTestEngine(db, provider);
  const { story, opening: first } = await createStory(deps, { title: 'Hearsay', setting: 'A harbour town' });
  let turns = 0;
  /** The next scene, from the head or from `fromSceneId` (rewound to first). */
  const turn = async (characters: Scripted[], fromSceneId?: string) => {
    if (fromSceneId) await rewindStory(deps, story.id, { toSceneId: fromSceneId });
    queue.push(characters);
    const { scene } = await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 1 + (turns++ % 3) });
    return scene.id;
  };
  const mara = async (atSceneId?: string) => {
    const found = (await listStoryCharacters(db, story.id, atSceneId ? { atSceneId } : {})).find((c) => c.name === 'Mara');
    if (!found) throw new Error(`Mara is not known at ${atSceneId ?? 'the head'}`);
    return found;
  };
  return { deps, storyId: story.id, openingId: first.scene.id, turn, mara };
}

const keeper: Scripted = { name: 'Ada Quill', role: 'present', description: 'The harbour keeper.' };
const hearsay = 'Mara, talked about at the harbour but not seen for days.';
const seen = 'A tall woman in a salt-stained coat, a coil of rope on her shoulder.';

describe('a description from hearsay', () => {
  it('gives way to the one given when the character first appears, on that branch only', async () => {
    const { storyId, openingId, turn, mara } = await scriptedStory([keeper, { name: 'Mara', role: 'mentioned', description: hearsay }]);
    expect((await mara()).description).toBe(hearsay);

    // Mentioned again: still hearsay, and the new hearsay does not replace the old.
    const talkedOf = await turn([keeper, { name: 'Mara', role: 'mentioned', description: 'Mara, said to have sailed north.' }]);
    expect((await mara()).description).toBe(hearsay);

    const met = await turn([{ name: 'Mara', role: 'present', description: seen }]);
    expect((await mara()).description).toBe(seen);

    // Once met, a later description only fills what is empty.
    const later = await turn([{ name: 'Mara', role: 'present', description: 'Someone else entirely.' }]);
    expect((await mara()).description).toBe(seen);

    // The world before the meeting still has the hearsay.
    await rewindStory({ db }, storyId, { toSceneId: talkedOf });
    expect((await mara()).description).toBe(hearsay);
    expect((await mara(openingId)).description).toBe(hearsay);
    expect((await mara(met)).description).toBe(seen);
    expect((await mara(later)).description).toBe(seen);

    // Another branch meets her in its own scene and is described there; the first is untouched.
    const otherMeeting = await turn([{ name: 'Mara', role: 'present', description: 'A small woman mending a net.' }], openingId);
    expect((await mara()).description).toBe('A small woman mending a net.');
    expect((await mara(met)).description).toBe(seen);
    expect((await mara(talkedOf)).description).toBe(hearsay);

    // The engine's record folds to the same descriptions.
    for (const [sceneId, description] of [[met, seen], [talkedOf, hearsay], [otherMeeting, 'A small woman mending a net.']] as const) {
      const folded = foldWorldEvents(await loadPathEvents(db, storyId, sceneId));
      expect(folded.characters.get((await mara(sceneId)).id)?.description).toBe(description);
    }
  });

  it('keeps a description the player wrote, even at the first appearance', async () => {
    const { openingId, turn, mara } = await scriptedStory([keeper, { name: 'Mara', role: 'mentioned', description: hearsay }]);
    const before = await mara();
    await updateCharacter(db, { characterId: before.id, expectedVersion: before.version, patch: { description: 'My own Mara: a smuggler.' } });
    const met = await turn([{ name: 'Mara', role: 'present', description: seen }]);
    expect((await mara(met)).description).toBe('My own Mara: a smuggler.');
    expect((await mara(openingId)).description).toBe('My own Mara: a smuggler.');
  });

  it('is replaced after an edit of something else, and after an edit on another branch', async () => {
    const { storyId, openingId, turn, mara } = await scriptedStory([keeper, { name: 'Mara', role: 'mentioned', description: hearsay }]);
    const moodEdited = await mara();
    await updateCharacter(db, { characterId: moodEdited.id, expectedVersion: moodEdited.version, patch: { mood: 'missed' } });
    const quiet = await turn([keeper]);
    // Back at the opening, after `quiet` went on from it: an edit there is not `quiet`'s.
    await rewindStory({ db }, storyId, { toSceneId: openingId });
    const atOpening = await mara();
    await updateCharacter(db, { characterId: atOpening.id, expectedVersion: atOpening.version, patch: { description: 'Edited at the opening.' } });
    expect((await mara(quiet)).description).toBe(hearsay);

    const met = await turn([{ name: 'Mara', role: 'present', description: seen }], quiet);
    expect((await mara(met)).description).toBe(seen);
    expect((await mara(met)).mood).toBe('missed');
    // From the opening as edited, the player's description stands.
    const metAfterEdit = await turn([{ name: 'Mara', role: 'present', description: seen }], openingId);
    expect((await mara(metAfterEdit)).description).toBe('Edited at the opening.');
  });

  it('is not what a card or an import says of someone: that description stays', async () => {
    const { storyId, turn, mara } = await scriptedStory([keeper]);
    // Known to the whole story, as a card or an import makes them: no scene created them.
    await getOrCreateCharacters(db, storyId, [{ name: 'Mara', description: 'The card: a harbour pilot with one grey eye.' }]);
    await turn([keeper, { name: 'Mara', role: 'mentioned', description: hearsay }]);
    const met = await turn([{ name: 'Mara', role: 'present', description: seen }]);
    expect((await mara(met)).description).toBe('The card: a harbour pilot with one grey eye.');
  });
});
