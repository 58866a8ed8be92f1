import { hashText } from './seeded-random.js';

/**
 * How a character looks, moves and sounds. Derived from the name, so that it stays the same
 * every turn, and written into the description, so that it survives the trip through the
 * database; a newcomer skips the looks, manners and voices the people already known have.
 */
export interface Persona {
  /** "a net-mender with salt-cracked hands and a patched oilskin coat" */
  introduction: string;
  /** A participle phrase: "turning a ring on one finger". */
  manner: string;
  /** Follows "says": "in a low, unhurried voice". */
  voice: string;
  /** The stored description: "A net-mender with …. Speaks in a low, unhurried voice; turning a ring on one finger." */
  description: string;
}

// Looks are the body only: clothes come from their own list, so nobody wears two coats.
const looks = [
  'salt-cracked hands', 'a tattooed forearm', 'a crooked smile', 'ink-stained fingers', 'a scar through one eyebrow',
  'a crooked nose', 'grey eyes that never settle', 'close-cropped silver hair', 'a face weathered brown', 'a missing front tooth',
  'freckled, sunburnt arms', 'a heavy brass earring', 'hair braided tight against the skull', 'a burn scar across one wrist',
  'spectacles mended with wire', 'a broad, flat-nosed face', 'long, nervous fingers', 'a limp in the left leg',
  'a neat grey beard', 'bitten fingernails', 'a shaved head', 'deep laugh lines', 'a chipped front tooth', 'pale, watchful eyes',
];
const clothes = [
  'a patched oilskin coat', 'a moth-eaten red scarf', 'a waistcoat with mismatched buttons', 'boots too big for them',
  'a knitted cap pulled low', 'a long coat dark with rain', 'fingerless gloves', 'a leather apron', 'a wide-brimmed hat',
  'a shawl pinned with a tin brooch', 'a jacket two sizes too small', 'a rope belt', 'a velvet coat gone shiny at the elbows',
  'a plain grey smock', 'a fur-lined collar', 'a coat with too many pockets',
];
const manners = [
  'turning a ring on one finger', 'never quite meeting your eye', 'drumming their fingers on the nearest surface',
  'glancing at the door every few words', 'rubbing a thumb along an old scar', 'standing very straight', 'leaning in close',
  'keeping both hands in their pockets', 'picking at a loose thread', 'smiling a little too readily', 'speaking to the floor',
  'tapping one foot', 'folding and unfolding a scrap of paper', 'squinting as if against the sun', 'cracking their knuckles',
  'stroking their chin', 'rocking on their heels', 'watching your hands rather than your face', 'nodding along to everything',
  'pausing long between words',
];
// Voices are a timbre and a pace, so that even a crowded story gives everyone their own.
const timbres = ['low', 'husky', 'thin', 'clear', 'hoarse', 'bright', 'soft', 'gravelly', 'reedy', 'deep', 'warm', 'flat', 'sharp', 'lilting'];
const paces = ['unhurried', 'clipped', 'careful', 'singsong', 'halting', 'precise', 'tired', 'breathless', 'measured', 'wind-roughened', 'rapid', 'sleepy'];
const voices = timbres.flatMap((timbre, index) => paces.map((_, step) => `in a ${timbre}, ${paces[(step + index * 5) % paces.length]} voice`));

function withArticle(noun: string): string {
  return `${/^[aeiou]/i.test(noun) ? 'an' : 'a'} ${noun}`;
}

/** The first entry, in a name-derived order, that the known descriptions do not use yet. */
function pickUnused(bank: readonly string[], key: string, used: string): string {
  const start = hashText(key);
  for (let step = 0; step < bank.length; step++) {
    const candidate = bank[(start + step) % bank.length]!;
    if (!used.includes(candidate)) return candidate;
  }
  return bank[start % bank.length]!;
}

/** A newcomer's persona; `knownDescriptions` are the descriptions of the people already in the story. */
export function inventPersona(name: string, role: string, knownDescriptions: readonly string[]): Persona {
  const used = knownDescriptions.join('\n');
  const look = pickUnused(looks, `${name}/look`, used);
  const clothing = pickUnused(clothes, `${name}/clothes`, used);
  const manner = pickUnused(manners, `${name}/manner`, used);
  const voice = pickUnused(voices, `${name}/voice`, used);
  const introduction = `${withArticle(role)} with ${look} and ${clothing}`;
  const description = `${introduction.charAt(0).toUpperCase()}${introduction.slice(1)}. Speaks ${voice}; ${manner}.`;
  return { introduction, manner, voice, description };
}

/** The voice a stored description gives ("Speaks in a low, unhurried voice;"). */
export function voiceIn(description: string): string | undefined {
  return /\bSpeaks (in a [^;.]+ voice);/.exec(description)?.[1];
}

/** The manner and voice of a known character: read back from the description, or derived from the name. */
export function personaOf(name: string, description: string | undefined, otherDescriptions: readonly string[]): Pick<Persona, 'manner' | 'voice'> {
  const text = description ?? '';
  const others = otherDescriptions.join('\n');
  return {
    manner: manners.find((manner) => text.includes(manner)) ?? pickUnused(manners, `${name}/manner`, others),
    voice: voiceIn(text) ?? pickUnused(voices, `${name}/voice`, others),
  };
}
