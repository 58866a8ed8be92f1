import type { SeededRandom } from './seeded-random.js';

const givenNames = [
  'Mara', 'Tobias', 'Elin', 'Corvin', 'Ysolde', 'Bram', 'Nessa', 'Aldric', 'Wren', 'Hollis', 'Ines', 'Oskar',
  'Petra', 'Rurik', 'Sabine', 'Tamsin', 'Ulric', 'Vesna', 'Jory', 'Kestrel', 'Liesel', 'Matthias', 'Noor', 'Orla',
  'Pell', 'Quentin', 'Rosalind', 'Silas', 'Thea', 'Anselm', 'Brigid', 'Casimir', 'Dagny', 'Emeric', 'Fenna', 'Idris',
];
const familyNames = [
  'Quill', 'Venn', 'Harrow', 'Ashdown', 'Marsh', 'Coldwater', 'Brennick', 'Locke', 'Fairweather', 'Hale', 'Morrow',
  'Thorne', 'Greaves', 'Penhallow', 'Rook', 'Sallow', 'Tarrant', 'Vantongeren', 'Whitlock', 'Yarrow', 'Oakes', 'Dunmore',
];
const spaceGivenNames = ['Ixa', 'Dax', 'Juno', 'Teo', 'Rhea', 'Kai', 'Nadia', 'Orrin', 'Sol', 'Vega', 'Anik', 'Lio', 'Mirae', 'Zed'];
const spaceFamilyNames = ['Okonkwo', 'Moreau', 'Tanaka', 'Varga', 'Lindqvist', 'Achebe', 'Castellanos', 'Ferro', 'Haldane', 'Novak', 'Reyes'];

/**
 * A full name from the seed that clashes with nobody already in the story: neither the whole
 * name nor the given name, so that "Mara" in the prose always means one person.
 */
export function inventCharacterName(random: SeededRandom, flavourId: string, takenNames: readonly string[]): string {
  const given = flavourId === 'space' ? spaceGivenNames : givenNames;
  const family = flavourId === 'space' ? spaceFamilyNames : familyNames;
  const taken = new Set(takenNames.flatMap((name) => [name.toLowerCase(), name.split(/\s+/)[0]!.toLowerCase()]));
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = random.pick(given);
    if (taken.has(first.toLowerCase())) continue;
    return `${first} ${random.pick(family)}`;
  }
  // Every given name is used: fall back to a numbered stranger rather than a clash.
  return `${random.pick(given)} ${random.pick(family)} ${takenNames.length + 1}`;
}

const titles = new Set(['captain', 'lady', 'lord', 'sir', 'dame', 'doctor', 'dr', 'mr', 'mrs', 'ms', 'old', 'young', 'father', 'mother', 'brother', 'sister', 'king', 'queen', 'prince', 'princess', 'master', 'mistress', 'the']);

/** What the prose calls a character once introduced: "Mara" for "Mara Quill", but "Captain Hale" stays whole. */
export function shortName(name: string): string {
  const words = name.split(/\s+/);
  const first = words[0] ?? name;
  if (words.length !== 2 || titles.has(first.toLowerCase().replace(/\.$/, ''))) return name;
  return first;
}
