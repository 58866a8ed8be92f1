import pluralize from 'pluralize';

/**
 * What the author's setting text says, read into parts the storyteller can use: the places
 * (where scenes happen), the people (who newcomers are), the things (what people talk about),
 * the period and the mood. Only whole noun phrases become topics, never stray words or years.
 */
export interface SettingProfile {
  /** "the lighthouse", "the Cornish coast", "Porthkellis"; the first is where the story starts. */
  places: string[];
  /** Roles the setting names, singular: "keeper", "villager", "wrecker". */
  roles: string[];
  /** People the setting names, with the role it gives them: Ysolde, the keeper's daughter. */
  namedPeople: { name: string; role: string }[];
  /** Other noun phrases worth talking about: "the lamp", "the wreckers". */
  things: string[];
  /** "1893" or "medieval", when the setting gives one. */
  period?: string;
  /** Mood words from the setting: "remote", "foggy", "storm". */
  moods: string[];
}

const placeNouns = new Set(
  ('lighthouse harbour harbor port town village city island coast shore cove bay beach cliff cliffs pier quay dock docks ' +
    'wharf tower keep castle palace hall chapel church abbey monastery temple shrine inn tavern market square street ' +
    'streets alley district quarter forest wood woods grove glade valley river lake marsh moor moors fen mountain ' +
    'mountains pass peak cave caves cavern mine mines tunnel tunnels crypt tomb ruins station deck colony outpost ' +
    'base camp oasis desert dunes farm manor estate house cottage mill bridge road crossroads library school academy ' +
    'asylum hospital prison fortress citadel garden gardens cemetery graveyard headland rocks reef estuary lagoon ' +
    'boathouse lamproom rooms room cellar attic kitchen courtyard gate gates wall walls well spring sea ocean shipyard ' +
    'observatory laboratory lab archive vault tundra jungle swamp canyon plateau highlands lowlands steppe kingdom realm ' +
    'empire province county parish hamlet settlement base spaceport starship vessel freighter hold bridge court canal ' +
    'club warehouse bar theatre theater factory hotel office precinct chambers ravine path trail clearing').split(' '),
);

const personNouns = new Map<string, string>(
  Object.entries({
    keeper: 'keeper', keepers: 'keeper', daughter: 'daughter', son: 'son', wife: 'wife', husband: 'husband', widow: 'widow',
    father: 'father', mother: 'mother', brother: 'brother', sister: 'sister', villagers: 'villager', villager: 'villager',
    fishermen: 'fisherman', fisherman: 'fisherman', smugglers: 'smuggler', smuggler: 'smuggler', wreckers: 'wrecker',
    wrecker: 'wrecker', priest: 'priest', vicar: 'vicar', captain: 'captain', sailors: 'sailor', sailor: 'sailor',
    crew: 'crew member', king: 'king', queen: 'queen', prince: 'prince', princess: 'princess', knights: 'knight',
    knight: 'knight', guards: 'guard', guard: 'guard', lord: 'lord', lady: 'lady', merchants: 'merchant', merchant: 'merchant',
    thief: 'thief', thieves: 'thief', detective: 'detective', doctor: 'doctor', witch: 'witch', witches: 'witch',
    monks: 'monk', monk: 'monk', nuns: 'nun', nun: 'nun', soldiers: 'soldier', soldier: 'soldier', miners: 'miner',
    miner: 'miner', pilot: 'pilot', pilots: 'pilot', engineer: 'engineer', engineers: 'engineer', scientists: 'scientist',
    scientist: 'scientist', innkeeper: 'innkeeper', blacksmith: 'blacksmith', hunters: 'hunter', hunter: 'hunter',
    ranger: 'ranger', farmers: 'farmer', farmer: 'farmer', heir: 'heir', servants: 'servant', servant: 'servant',
    steward: 'steward', mayor: 'mayor', sheriff: 'sheriff', pirates: 'pirate', pirate: 'pirate', strangers: 'stranger',
    travellers: 'traveller', traveller: 'traveller', elders: 'elder', elder: 'elder', colonists: 'colonist',
    colonist: 'colonist', cultists: 'cultist', monster: 'monster', ghost: 'ghost', ghosts: 'ghost', spirits: 'spirit',
    healer: 'healer', herbalist: 'herbalist', scholar: 'scholar', scholars: 'scholar', students: 'student',
    apprentice: 'apprentice', courier: 'courier', smith: 'smith', baker: 'baker', constable: 'constable', nurse: 'nurse',
    ferryman: 'ferryman', ferrymen: 'ferryman', boatman: 'boatman', boatmen: 'boatman', cook: 'cook', weaver: 'weaver',
    carpenter: 'carpenter', mason: 'mason', miller: 'miller', shepherd: 'shepherd', hermit: 'hermit', bard: 'bard',
    scribe: 'scribe', judge: 'judge', clerk: 'clerk', bandit: 'bandit', bandits: 'bandit', trader: 'trader', traders: 'trader',
  }),
);

// Verbs whose doer ("-er") names a kind of person in a compound: "lamp-lighter", "grave-digger".
const agentVerbs = new Set(
  ('bake bear beg bind blow brew build burn buy carry carve catch charm clean climb collect cook count cut dance deal dig ' +
    'draw dream drive drum dye eat farm feed fight fish forge gather grind guard haul heal herd hold hunt keep lead lend ' +
    'light load make mend mine mourn pick preach print read ride rob run sail sell set sew shear shoot sing skin slay ' +
    'smuggle spin stalk steal sweep swallow tan teach tell tend thresh track trade trap walk watch weave work write wreck').split(' '),
);
// Endings of a word that name a kind of person whatever comes before: "harbourmaster", "fishwife".
const agentEnding = /(?:keeper|master|monger|smith|wright|wife|wives)s?$|-(?:m[ae]n|wom[ae]n|maker|makers)$/;

/** "lighter" → "light", "digger" → "dig", "driver" → "drive": the verb an "-er" noun is the doer of. */
function verbOfDoer(word: string): string | undefined {
  const stem = word.replace(/s$/, '').match(/^(.+?)e?r$/)?.[1];
  if (!stem) return undefined;
  return [stem, `${stem}e`, stem.replace(/(.)\1$/, '$1'), stem.replace(/i$/, 'y')].find((verb) => agentVerbs.has(verb));
}

/**
 * The role a word names, singular ("keepers" → "keeper"): a listed person noun, or a compound
 * the setting coined for one ("harbour-master", "camel-drivers", "shopkeeper").
 */
function roleOf(lower: string): string | undefined {
  const word = baseOf(lower);
  const listed = personNouns.get(word);
  if (listed) return listed;
  const parts = word.split('-');
  const last = parts[parts.length - 1]!;
  const coined =
    agentEnding.test(word) || (parts.length === 2 && parts[0]!.length >= 2 && (personNouns.has(last) || verbOfDoer(last) !== undefined));
  return coined ? pluralize.singular(word) : undefined;
}

const isPersonNoun = (lower: string) => roleOf(lower) !== undefined;

const moodWords = new Set(
  ('remote foggy misty stormy storm storms haunted grim bleak eerie cold frozen dark darkening lonely abandoned ancient ' +
    'crumbling desolate gloomy quiet sleepy bustling wild windswept wind rain fog mist snow ice sunlit golden dusty ' +
    'decaying forgotten cursed sacred hidden secret dying silent rotting salt-stained rain-soaked moonlit shadowy ' +
    'restless uneasy tense feverish weary proud rich poor lawless besieged flooded burning ruined whispering').split(' '),
);

const eraWords = ['medieval', 'victorian', 'edwardian', 'regency', 'georgian', 'elizabethan', 'roman', 'viking', 'renaissance', 'prehistoric', 'futuristic'];

// Glue and verbs that never belong inside a noun phrase.
const stopWords = new Set(
  ('a an the and or but where which who whose that is are was were be been being of in on at to for with from by as ' +
    'near beyond under over has have had its their his her this these those some all every no not while when you your ' +
    'it they there here after before into than so if then yet about against between through during without within ' +
    'along across around behind above below upon onto off out up down one two three many few most each other such ' +
    'only own same very can will just should now also still even ever always never late early').split(' '),
);
// Nouns that only say where in or which part of something ("the edge of a salt marsh", "the
// heart of the city"): what people talk about is the thing after "of", never the part itself.
const partNouns = new Set(
  ('edge edges heart middle centre center side sides end ends top bottom foot rim fringe fringes outskirts border ' +
    'borders verge brink shadow shadows corner far rest part parts half back front length depths surface tip').split(' '),
);
const determiners = new Set(['a', 'an', 'the', 'its', 'their', 'his', 'her', 'this', 'that', 'these', 'those']);
const placePrepositions = new Set(['in', 'at', 'of', 'near', 'from', 'on', 'to', 'beyond', 'outside', 'above', 'below']);

interface Token {
  word: string;
  lower: string;
  /** First word of a sentence: its capital says nothing. */
  sentenceStart: boolean;
}

function tokenise(text: string): Token[] {
  const tokens: Token[] = [];
  let sentenceStart = true;
  for (const match of text.matchAll(/[\p{L}][\p{L}'’-]*|\d+|[.!?;:,()]/gu)) {
    const word = match[0].replace(/’/g, "'");
    if (/^[.!?;:,()]$/.test(word)) {
      tokens.push({ word, lower: word, sentenceStart: false });
      if (/[.!?]/.test(word)) sentenceStart = true;
      continue;
    }
    tokens.push({ word, lower: word.toLowerCase(), sentenceStart });
    sentenceStart = false;
  }
  return tokens;
}

const isWord = (token: Token | undefined): token is Token => token !== undefined && /^[\p{L}\d]/u.test(token.word);
const isCapitalised = (token: Token) => /^\p{Lu}/u.test(token.word) && !token.sentenceStart;
const baseOf = (lower: string) => lower.replace(/'s$/, '');
const isPlaceNoun = (lower: string): boolean => {
  const last = baseOf(lower).split('-').pop()!;
  return placeNouns.has(last) || placeNouns.has(last.replace(/s$/, ''));
};
/** "bell-tower", "love-letter": a compound noun, not a compound adjective ("rain-soaked", "half-drowned"). */
const isCompoundNoun = (lower: string) => lower.includes('-') && !/(ed|en|ing|ful|less|like)$/.test(lower);

function addUnique(list: string[], value: string): void {
  if (!list.some((existing) => existing.toLowerCase() === value.toLowerCase())) list.push(value);
}

/**
 * The noun phrase ending at `end`: the modifiers before it that are nouns, possessives or
 * capitalised words ("the keeper's cottage", "the Cornish coast"), adjectives left out.
 */
function phraseEndingAt(tokens: Token[], end: number): { text: string; start: number } {
  const words = [tokens[end]!.word];
  let start = end;
  for (let index = end - 1; index >= 0 && words.length < 3; index--) {
    const token = tokens[index]!;
    if (!isWord(token) || stopWords.has(token.lower) || /^\d/.test(token.word)) break;
    const nounish = isPlaceNoun(token.lower) || isPersonNoun(token.lower) || token.lower.endsWith("'s");
    if (!nounish && !isCapitalised(token)) break;
    words.unshift(token.sentenceStart ? token.lower : token.word);
    start = index;
  }
  return { text: `the ${words.join(' ')}`, start };
}

/** Could this word be part of a person's name: capitalised, and no role, place, glue or mood word? */
function nameWord(token: Token | undefined, allowSentenceStart: boolean): token is Token {
  if (!token || !isWord(token) || !/^\p{Lu}/u.test(token.word)) return false;
  if (token.sentenceStart && !allowSentenceStart) return false;
  return !isPersonNoun(token.lower) && !isPlaceNoun(token.lower) && !stopWords.has(token.lower) && !moodWords.has(token.lower);
}

/**
 * "his daughter Ysolde", "the well keeper Ilsa Marr", "the keeper, Tomas,": the whole name after
 * a role (up to three words), so that the storyteller calls the person what the author did.
 */
function nameAfterRole(tokens: Token[], roleIndex: number): string | undefined {
  let from = roleIndex + 1;
  if (tokens[from]?.word === ',') from++;
  const words: string[] = [];
  for (let index = from; words.length < 3 && nameWord(tokens[index], false); index++) words.push(tokens[index]!.word);
  return words.length > 0 ? words.join(' ') : undefined;
}

/** "Oren Vale, the ferryman,": a name set before its role; not a place ("in Porthkellis, the keeper"). */
function nameBeforeRole(tokens: Token[], roleIndex: number): string | undefined {
  const article = tokens[roleIndex - 1];
  if (!article || !['the', 'a', 'an'].includes(article.lower) || tokens[roleIndex - 2]?.word !== ',') return undefined;
  const words: string[] = [];
  let first = roleIndex - 2;
  for (let index = roleIndex - 3; words.length < 3 && nameWord(tokens[index], true); index--) {
    words.unshift(tokens[index]!.word);
    first = index;
    if (tokens[index]!.sentenceStart) break;
  }
  if (words.length === 0) return undefined;
  const before = tokens[first - 1];
  if (!tokens[first]!.sentenceStart && before && placePrepositions.has(before.lower)) return undefined;
  return words.join(' ');
}

export function readSetting(setting: string): SettingProfile {
  const tokens = tokenise(setting);
  const profile: SettingProfile = { places: [], roles: [], namedPeople: [], things: [], moods: [] };
  for (const [index, token] of tokens.entries()) {
    if (!isWord(token)) continue;
    const lower = token.lower;
    const previous = tokens[index - 1];
    const next = tokens[index + 1];
    if (moodWords.has(lower)) addUnique(profile.moods, lower);
    if (/^(1[0-9]{3}|20[0-9]{2})$/.test(token.word) && profile.period === undefined) profile.period = token.word;
    if (eraWords.includes(lower) && profile.period === undefined) profile.period = lower;
    // A capitalised word after "of/in/at" that is no person: a place name ("the villagers of Porthkellis").
    if (isCapitalised(token) && previous && placePrepositions.has(previous.lower) && !isPersonNoun(lower) && !isPlaceNoun(lower)) {
      if (!(next && isWord(next) && (isPlaceNoun(next.lower) || /^\p{Lu}/u.test(next.word)))) addUnique(profile.places, token.word);
      continue;
    }
    const role = roleOf(lower);
    if (role) {
      addUnique(profile.roles, role);
      const named = nameAfterRole(tokens, index) ?? nameBeforeRole(tokens, index);
      if (named) {
        if (!profile.namedPeople.some((person) => person.name === named)) profile.namedPeople.push({ name: named, role });
      } else if (!lower.endsWith("'s") && !(next && isPlaceNoun(next.lower)) && !(previous && isPersonNoun(previous.lower))) {
        addUnique(profile.things, phraseEndingAt(tokens, index).text);
      }
      continue;
    }
    const nextIsNounish = next !== undefined && isWord(next) && (isPlaceNoun(next.lower) || isPersonNoun(next.lower));
    // "the ferryman Oren Vale keeps the toll": a place noun between a name and a determiner is a verb.
    const usedAsVerb = previous !== undefined && isCapitalised(previous) && next !== undefined && isWord(next) && determiners.has(next.lower);
    if (isPlaceNoun(lower) && !nextIsNounish && !usedAsVerb) {
      addUnique(profile.places, phraseEndingAt(tokens, index).text);
      continue;
    }
    // Any other noun after a determiner, perhaps with one adjective between ("tends the lamp",
    // "a dying star"), unless it is glue, a mood word, a number or a modifier of the next noun.
    const before = tokens[index - 2];
    const afterDeterminer = previous !== undefined && (determiners.has(previous.lower) || (isWord(previous) && !stopWords.has(previous.lower) && !isPersonNoun(previous.lower) && !isPlaceNoun(previous.lower) && !isCompoundNoun(previous.lower) && before !== undefined && determiners.has(before.lower)));
    const modifiesNext = next !== undefined && isWord(next) && !stopWords.has(next.lower) && !/(ly|ed)$/.test(next.lower);
    const partOfNext = partNouns.has(lower) && next?.lower === 'of';
    if (afterDeterminer && !modifiesNext && !partOfNext && !stopWords.has(lower) && !moodWords.has(lower) && lower.length >= 3 && !/^\d/.test(lower) && !/(ly|ing|ed)$/.test(lower)) {
      addUnique(profile.things, `the ${lower}`);
    }
  }
  profile.places = profile.places.slice(0, 8);
  profile.things = profile.things.filter((thing) => !profile.places.some((place) => place.toLowerCase() === thing.toLowerCase())).slice(0, 8);
  return profile;
}
