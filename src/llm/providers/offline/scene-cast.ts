import type { TaskCharacter } from '../../provider.js';
import { inventCharacterName, shortName } from './character-names.js';
import { capitalise, mentionsName } from './phrasing.js';
import { inventPersona, personaOf } from './persona.js';
import { hashText, type SeededRandom } from './seeded-random.js';
import type { SettingFlavour } from './setting-flavours.js';
import type { SettingProfile } from './setting-profile.js';

/** Someone in (or talked about in) the scene being written. */
export interface CastMember {
  name: string;
  /** What the prose calls them after the first mention. */
  callName: string;
  isNew: boolean;
  /** Known, but only talked about until now: this scene is where they are met in person. */
  heardOfOnly: boolean;
  role: 'present' | 'mentioned';
  /** "a harbour pilot with salt-cracked hands"; empty for known characters. */
  introduction: string;
  /** How they move and sound: "turning a ring on one finger", "in a low, unhurried voice". */
  manner: string;
  voice: string;
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

/**
 * Derived from the name, not the scene's seed, so that a character wants the same thing every
 * turn; never a goal about their own kind (the harbour-master does not owe the harbourmaster).
 * `whoTheyAre` is their role, or their description, whose first words say it.
 */
function goalOf(name: string, flavour: SettingFlavour, whoTheyAre: string): string {
  const kind = (whoTheyAre.toLowerCase().split(/\s(?:with|who|from|of)\s|[,.;]/)[0] ?? '').replace(/-/g, '');
  const aboutOthers = flavour.goals.filter((goal) => !(goal.toLowerCase().match(/[a-z]{5,}/g) ?? []).some((word) => kind.includes(word)));
  const goals = aboutOthers.length > 0 ? aboutOthers : flavour.goals;
  return goals[hashText(name.toLowerCase()) % goals.length]!;
}

function newMember(random: SeededRandom, name: string, role: string, knownDescriptions: readonly string[], memberRole: CastMember['role']): CastMember {
  const persona = inventPersona(name, role, knownDescriptions);
  const [first, second] = random.shuffle(personalityTraits);
  return {
    name,
    callName: shortName(name),
    isNew: true,
    heardOfOnly: false,
    role: memberRole,
    introduction: persona.introduction,
    manner: persona.manner,
    voice: persona.voice,
    description: persona.description,
    personality: `${first} and ${second}`,
    goal: '',
    trust: 0,
    memories: [],
    addressed: false,
  };
}

// Someone only talked about so far is described by hearsay; once they appear, by the meeting.
const hearsay = /^(.*), talked about at .* but not seen for days\.$/;

export function hearsayDescription(introduction: string, place: string): string {
  return `${capitalise(introduction)}, talked about at ${place} but not seen for days.`;
}

/** Who someone only talked about so far is said to be ("a lamp-lighter with …"), read from their hearsay description. */
export function heardOfAs(description: string | undefined): string | undefined {
  const heardOf = description === undefined ? null : hearsay.exec(description);
  return heardOf ? heardOf[1]!.charAt(0).toLowerCase() + heardOf[1]!.slice(1) : undefined;
}

function knownMember(character: TaskCharacter, others: readonly string[], addressed: boolean): CastMember {
  const { manner, voice } = personaOf(character.name, character.description, others);
  const heardOf = heardOfAs(character.description);
  const member: CastMember = {
    name: character.name,
    callName: shortName(character.name),
    isNew: false,
    heardOfOnly: heardOf !== undefined,
    role: 'present',
    introduction: heardOf ?? '',
    manner,
    voice,
    goal: '',
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
 * others, and now and then someone new (always someone new when nobody is known yet). At a
 * place the last scene was not at, the others are those met there before and those who were
 * with the player in the last scene (`newPlace`: the place's name without "the", and the last
 * scene): nobody else turns up wherever the player goes.
 */
export function chooseCast(
  random: SeededRandom,
  flavour: SettingFlavour,
  profile: SettingProfile,
  known: readonly TaskCharacter[],
  playerWords: string,
  isOpening: boolean,
  newPlace?: { place: string; lastScene: string },
): CastMember[] {
  const usable = known.filter((character) => character.name.trim() !== '');
  const descriptions = usable.map((character) => character.description ?? '');
  const addressed = usable.filter((character) => playerWords !== '' && mentionsName(playerWords, character.name));
  let others = random.shuffle(usable.filter((character) => !addressed.includes(character)));
  if (newPlace !== undefined) {
    const metHere = (character: TaskCharacter) => (character.description ?? '').toLowerCase().includes(newPlace.place);
    others = others.filter((character) => metHere(character) || mentionsName(newPlace.lastScene, character.name));
  }
  const presentKnown = [...addressed, ...others].slice(0, Math.max(2, addressed.length));
  const cast = presentKnown.map((character) =>
    knownMember(character, usable.filter((other) => other !== character).map((other) => other.description ?? ''), addressed.includes(character)),
  );

  const takenNames = usable.map((character) => character.name);
  const isTaken = (name: string) => takenNames.some((taken) => taken.toLowerCase() === name.toLowerCase() || taken.split(/\s+/)[0]!.toLowerCase() === name.toLowerCase());
  // The people the setting names come first, in the roles it gives them; then the setting's other roles.
  const settingPeople = profile.namedPeople.filter((person) => !isTaken(person.name));
  const knownText = descriptions.join('\n').toLowerCase();
  const freshRoles = [...profile.roles.filter((role) => !knownText.includes(role)), ...random.shuffle(flavour.roles).filter((role) => !knownText.includes(role))];
  const invent = (memberRole: CastMember['role']) => {
    const person = settingPeople.shift();
    const name = person?.name ?? inventCharacterName(random, flavour.id, takenNames);
    const role = person ? `${person.role} ${profile.places[0] ? `from ${profile.places[0]}` : 'everyone here knows'}` : (freshRoles.shift() ?? random.pick(flavour.roles));
    takenNames.push(name);
    const member = newMember(random, name, role, [...descriptions, ...cast.map((other) => other.description ?? '')], memberRole);
    member.goal = goalOf(name, flavour, role);
    return member;
  };
  const newcomerChance = usable.length === 0 ? 1 : settingPeople.length > 0 ? 0.6 : usable.length >= 6 ? 0.15 : 0.35;
  const newcomers = random.chance(newcomerChance) ? (isOpening && random.chance(0.5) ? 2 : 1) : 0;
  for (let count = 0; count < newcomers; count++) cast.push(invent('present'));
  if (random.chance(isOpening ? 0.5 : 0.2)) cast.push(invent('mentioned'));
  for (const member of cast) if (member.goal === '') member.goal = goalOf(member.name, flavour, member.description ?? '');
  // A given name shared by two people in the scene would be ambiguous: use full names then.
  for (const member of cast) {
    if (cast.some((other) => other !== member && other.callName === member.callName)) member.callName = member.name;
  }
  return cast;
}
