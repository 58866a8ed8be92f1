import type { TaskCharacter } from '../../provider.js';
import { inventCharacterName, shortName } from './character-names.js';
import { mentionsName, withArticle } from './phrasing.js';
import { hashText, type SeededRandom } from './seeded-random.js';
import type { SettingFlavour } from './setting-flavours.js';

/** Someone in (or talked about in) the scene being written. */
export interface CastMember {
  name: string;
  /** What the prose calls them after the first mention. */
  callName: string;
  isNew: boolean;
  role: 'present' | 'mentioned';
  /** "a harbour pilot with salt-cracked hands"; empty for known characters without a description. */
  introduction: string;
  description?: string;
  personality?: string;
  goal: string;
  /** The player's standing with them, -1..1. */
  trust: number;
  mood?: string;
  memories: string[];
  /** Named in the player's action or instruction, so the scene centres on them. */
  addressed: boolean;
}

const personalityTraits = [
  'wry', 'patient', 'proud', 'quick-tempered', 'curious', 'suspicious', 'kind', 'secretive', 'blunt', 'generous',
  'anxious', 'stubborn', 'cheerful', 'calculating', 'loyal', 'restless',
];

// Derived from the name, not the scene's seed, so that a character wants the same thing every turn.
function goalOf(name: string, flavour: SettingFlavour): string {
  return flavour.goals[hashText(name.toLowerCase()) % flavour.goals.length]!;
}

function newMember(random: SeededRandom, flavour: SettingFlavour, name: string, role: CastMember['role']): CastMember {
  const introduction = `${withArticle(random.pick(flavour.roles))} with ${random.pick(flavour.features)}`;
  const [first, second] = random.shuffle(personalityTraits);
  return {
    name,
    callName: shortName(name),
    isNew: true,
    role,
    introduction,
    personality: `${first} and ${second}`,
    goal: goalOf(name, flavour),
    trust: 0,
    memories: [],
    addressed: false,
  };
}

function knownMember(character: TaskCharacter, flavour: SettingFlavour, addressed: boolean): CastMember {
  const member: CastMember = {
    name: character.name,
    callName: shortName(character.name),
    isNew: false,
    role: 'present',
    introduction: '',
    goal: goalOf(character.name, flavour),
    trust: character.trust ?? 0,
    memories: character.memories ?? [],
    addressed,
  };
  if (character.description) member.description = character.description;
  if (character.personality) member.personality = character.personality;
  if (character.mood) member.mood = character.mood;
  return member;
}

/**
 * Who is in the scene: the known characters the player addressed first, then one or two
 * others, and now and then someone new (always someone new when nobody is known yet).
 */
export function chooseCast(
  random: SeededRandom,
  flavour: SettingFlavour,
  known: readonly TaskCharacter[],
  playerWords: string,
  isOpening: boolean,
): CastMember[] {
  const usable = known.filter((character) => character.name.trim() !== '');
  const addressed = usable.filter((character) => playerWords !== '' && mentionsName(playerWords, character.name));
  const others = random.shuffle(usable.filter((character) => !addressed.includes(character)));
  const presentKnown = [...addressed, ...others].slice(0, Math.max(2, addressed.length));
  const cast = presentKnown.map((character) => knownMember(character, flavour, addressed.includes(character)));

  const takenNames = usable.map((character) => character.name);
  const newcomerChance = usable.length === 0 ? 1 : usable.length >= 6 ? 0.15 : 0.35;
  const newcomers = random.chance(newcomerChance) ? (isOpening && random.chance(0.5) ? 2 : 1) : 0;
  for (let count = 0; count < newcomers; count++) {
    const name = inventCharacterName(random, flavour.id, takenNames);
    takenNames.push(name);
    cast.push(newMember(random, flavour, name, 'present'));
  }
  if (random.chance(isOpening ? 0.5 : 0.2)) {
    const name = inventCharacterName(random, flavour.id, takenNames);
    cast.push(newMember(random, flavour, name, 'mentioned'));
  }
  // A given name shared by two people in the scene would be ambiguous: use full names then.
  for (const member of cast) {
    if (cast.some((other) => other !== member && other.callName === member.callName)) member.callName = member.name;
  }
  return cast;
}
