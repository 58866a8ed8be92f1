import type { Database } from '../../src/db/index.js';
import { importStoryArchive, type StoryArchive } from '../../src/io/index.js';
import type { Embedder } from '../../src/memory/embedder.js';
import { reembedAll } from '../../src/memory/embedding-settings.js';

/**
 * A long story on a branchy tree, written as a `livingworld/1` archive and imported through
 * the product's own importer (which seeds the per-scene world as migration 0006 does), then
 * embedded with the given embedder. Far faster than playing thousands of turns, and the rows
 * are the ones a played story has: scenes with choices, characters present in each scene,
 * their memories, story memories, instructions, relationships with the player and each other.
 *
 * The tree: most turns advance from the head; about one in fifteen regenerates the head (a
 * sibling), one in sixty rewinds up to twenty scenes and goes on from there.
 */
export interface BranchyStoryOptions {
  scenes: number;
  characters: number;
  /** Characters present in each scene. */
  presentPerScene?: number;
  seed?: number;
}

export interface BranchyStory {
  storyId: string;
  scenes: number;
  headDepth: number;
  characters: number;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const places = ['harbour', 'lighthouse', 'market', 'chapel', 'mill', 'quarry', 'orchard', 'watchtower', 'ferry', 'library'];
const deeds = ['argues about the tide', 'mends a torn sail', 'hides a letter', 'counts coins', 'lights a lantern', 'waits by the door', 'reads an old map', 'sharpens a knife'];
const firstNames = ['Hanna', 'Piet', 'Marta', 'Joren', 'Ilse', 'Tomas', 'Greet', 'Anouk', 'Bram', 'Lieve', 'Sander', 'Femke', 'Otto', 'Wim', 'Roos'];
const lastNames = ['Sand', 'Roos', 'Vell', 'Kade', 'Brink', 'Duin', 'Mast', 'Zeil'];

export function branchyArchive(options: BranchyStoryOptions): { archive: StoryArchive; headDepth: number } {
  const random = mulberry32(options.seed ?? 1);
  const present = options.presentPerScene ?? 3;
  const at = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
  const characters = Array.from({ length: options.characters }, (_, i) => ({
    id: `c${i}`,
    name: `${firstNames[i % firstNames.length]} ${lastNames[Math.floor(i / firstNames.length) % lastNames.length]}${i >= firstNames.length * lastNames.length ? ` ${i}` : ''}`,
    description: `A ${places[i % places.length]} keeper with a weathered face (${i}).`,
    personality: 'Watchful, dry, loyal to the village.',
    goals: `Find out what happened at the ${places[(i + 3) % places.length]}.`,
    background: '',
    mood: 'neutral',
    emotion: { valence: 0, arousal: 0, dominance: 0 },
    metadata: {},
    first_scene_id: null as string | null,
    version: 0,
    created_at: at(0),
    updated_at: at(0),
  }));
  // Everyone is introduced within the first 85 % of the scenes (of a short story) or 100 scenes.
  const introduceBy = Math.max(1, Math.min(100, Math.floor(options.scenes * 0.85)));
  const scenes: StoryArchive['scenes'] = [];
  const depth = new Map<string, number>();
  const parentOf = new Map<string, string | null>();
  const sceneCharacters: StoryArchive['scene_characters'] = [];
  const memories: StoryArchive['memories'] = [];
  const characterMemories: StoryArchive['character_memories'] = [];
  const instructions: StoryArchive['user_instructions'] = [];
  let head: string | null = null;
  for (let i = 0; i < options.scenes; i++) {
    let parent: string | null = head;
    const roll = random();
    if (head !== null && roll < 0.067) parent = parentOf.get(head) ?? null;
    else if (head !== null && roll < 0.084) {
      let back = 1 + Math.floor(random() * 20);
      while (back-- > 0 && parent !== null && parentOf.get(parent)) parent = parentOf.get(parent)!;
    }
    if (i > 0 && parent === null) parent = scenes[0]!.id;
    const id = `s${i}`;
    const number = parent === null ? 1 : depth.get(parent)! + 1;
    depth.set(id, number);
    parentOf.set(id, parent);
    const introduced = Math.min(options.characters, Math.ceil(((i + 1) / introduceBy) * options.characters));
    const cast = new Set<number>();
    if (introduced > 0) cast.add(introduced - 1);
    while (cast.size < Math.min(present, introduced)) cast.add(Math.floor(random() * introduced));
    const names = [...cast].map((c) => characters[c]!.name);
    const place = places[Math.floor(random() * places.length)]!;
    const content = `Scene ${number} at the ${place}. ${names.map((name) => `${name} ${deeds[Math.floor(random() * deeds.length)]}.`).join(' ')} The fog thickens over the ${place} while the bells ring for the ${number}th time.`;
    scenes.push({
      id,
      parent_id: parent,
      scene_number: number,
      choice_number: parent === null ? null : 1 + Math.floor(random() * 3),
      instruction: i % 10 === 5 ? `Make ${names[0] ?? 'someone'} suspicious` : null,
      content,
      raw_output: null,
      provider: 'offline',
      model: 'bench',
      metadata: {},
      created_at: at(i),
      choices: [1, 2, 3].map((n) => ({ number: n, content: `Go to the ${places[(i + n) % places.length]}`, selected: false })),
    });
    for (const c of cast) {
      const character = characters[c]!;
      character.first_scene_id ??= id;
      sceneCharacters.push({ scene_id: id, character_id: character.id, role: 'present', importance: 0.5 });
      characterMemories.push({
        id: `cm${i}-${c}`,
        character_id: character.id,
        scene_id: id,
        kind: 'observation',
        content: `${character.name} saw the fog at the ${place} and heard the bells for the ${number}th time.`,
        valence: 0,
        importance: 0.3 + random() * 0.6,
        last_accessed_at: at(i),
        created_at: at(i),
      });
    }
    memories.push({ id: `m${i}`, kind: 'scene', scene_id: id, through_scene_number: number, content: content.slice(0, 300), importance: 0.5, created_at: at(i) });
    if (scenes.at(-1)!.instruction) instructions.push({ id: `u${i}`, scene_id: id, content: scenes.at(-1)!.instruction!, created_at: at(i) });
    head = id;
  }
  // A played story keeps its rolling summary up to the recent window (summarise.ts).
  const headNumber = head === null ? 0 : depth.get(head)!;
  if (headNumber > 5) {
    memories.push({ id: 'summary', kind: 'summary', scene_id: null, through_scene_number: headNumber - 4, content: `The fog came and stayed for ${headNumber - 4} scenes.`, importance: 1, created_at: at(options.scenes) });
  }
  const relationships: StoryArchive['character_relationships'] = [];
  characters.forEach((character, i) => {
    relationships.push({ id: `rp${i}`, character_id: character.id, target_character_id: null, sentiment: 0.1, trust: 0.2, familiarity: 0.3, type: 'acquaintance', interaction_count: 3, updated_at: at(0) });
    if (characters.length > 1) {
      const other = characters[(i + 1) % characters.length]!;
      relationships.push({ id: `rc${i}`, character_id: character.id, target_character_id: other.id, sentiment: 0.2, trust: 0.4, familiarity: 0.5, type: 'friend', interaction_count: 5, updated_at: at(0) });
    }
  });
  const archive = {
    format_version: 'livingworld/1',
    exported_at: at(options.scenes),
    story: {
      id: 'story',
      title: `Branchy ${options.scenes}`,
      setting: 'A fishing village on a cold northern coast, in the year of the long winter.',
      instructions: null,
      system_prompt: null,
      status: 'active',
      seed: options.seed ?? 1,
      settings: {},
      head_scene_id: head,
      created_at: at(0),
      updated_at: at(options.scenes),
    },
    scenes,
    user_instructions: instructions,
    characters,
    scene_characters: sceneCharacters,
    memories,
    character_memories: characterMemories,
    character_relationships: relationships,
    lore_entries: [],
  } as unknown as StoryArchive;
  return { archive, headDepth: head === null ? 0 : depth.get(head)! };
}

/** Builds, imports and embeds the story; the database's embedder becomes `embedder`. */
export async function createBranchyStory(db: Database, embedder: Embedder, options: BranchyStoryOptions): Promise<BranchyStory> {
  const { archive, headDepth } = branchyArchive(options);
  const { storyId } = await importStoryArchive(db, archive);
  return { storyId, scenes: options.scenes, headDepth, characters: options.characters };
}

/** Embeds every row of the database (the importer leaves embeddings to the embedder). */
export async function embedEverything(db: Database, embedder: Embedder): Promise<void> {
  await reembedAll(db, embedder, { batchSize: 500 });
}
