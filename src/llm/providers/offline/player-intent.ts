/**
 * Reads what the player chose or asked for well enough to write it back as prose:
 * "Ask Mara about the ships" → "ask Mara about the ships" (after "you"), "I draw my sword"
 * → "draw your sword".
 */
export type IntentKind = 'social' | 'search' | 'move' | 'fight' | 'wait' | 'other';

export interface PlayerIntent {
  /** A clause that follows "you" or "to": "look for the lighthouse keeper". */
  clause: string;
  /** Whether the clause starts with a verb, so "you will <clause>" reads as English. */
  verbFirst: boolean;
  kind: IntentKind;
  /** The thing or person it is about, when one stands out: "the lighthouse keeper". */
  target?: string;
  /**
   * The player's words as a second-person sentence without its final stop, ready for a
   * lead-in: "you ask Ysolde where the lighthouse keeper is", "you ask, \"Where is he?\"".
   */
  deed: string;
}

const commonVerbs = new Set(
  ('accept agree approach ask attack avoid befriend beg bribe bring build buy call calm carry cast catch challenge ' +
    'charm check chase choose climb close comfort confront convince cook cross dance decline defend demand describe ' +
    'dig disguise distract dive draw drink drop eat enter escape examine explain explore fight find flee follow ' +
    'forgive gather give go grab greet guard head help hide hold hug hunt ignore inspect interrogate introduce ' +
    'investigate join jump keep kiss knock learn leave lie light listen look lure make meet move offer open order ' +
    'pay persuade pick play pray pretend promise pull push question read refuse rest return ride row run sail ' +
    'say search seek sell send share shout sing sit sleep slip sneak speak spy stand stay steal stop study swim ' +
    'take talk taunt teach tell thank threaten throw trade track trust try turn use visit wait wake walk warn ' +
    'watch wave whisper win write yell ring polish light lock unlock repair mend fix tie untie cut burn warm wash ' +
    'clean sweep count check buy fetch carry lift lower raise signal row swim wade fish pour feed tend load unload ' +
    'pack unpack sketch draw paint measure map mark note copy hand show lend borrow steal hide bury unearth pry ' +
    'break smash kick shove drag haul climb descend ascend wander roam patrol guard question accuse apologise ' +
    'apologize insist admit confess reveal lie swear vow bargain haggle barter toast smile nod shrug laugh cry ' +
    'kneel bow salute hail signal summon ignore leave ignite douse extinguish').split(' '),
);

const kindKeywords: Array<[IntentKind, RegExp]> = [
  ['fight', /\b(attack|fight|strike|draw|stab|shoot|punch|threaten|confront|challenge|ambush|kill)\b/i],
  ['social', /\b(ask|talk|speak|tell|say|question|greet|introduce|persuade|convince|bribe|charm|thank|offer|promise|apologi[sz]e|comfort|befriend|whisper|share)\b/i],
  ['search', /\b(look|search|find|examine|inspect|investigate|read|study|check|explore|seek|track|dig|listen)\b/i],
  ['move', /\b(go|head|walk|run|climb|enter|leave|follow|cross|return|sail|ride|row|flee|escape|sneak|slip|visit|move)\b/i],
  ['wait', /\b(wait|watch|hide|rest|sleep|sit|stay|observe|pray)\b/i],
];

function toSecondPerson(text: string): string {
  return text
    .replace(/\bI am\b/g, 'you are')
    .replace(/\bI'm\b/g, "you're")
    .replace(/\bI\b/g, 'you')
    .replace(/\bmy\b/gi, 'your')
    // "the mine" is a place, "mine" alone is the player's.
    .replace(/(?<!\b(?:the|a|an|this|that|old|your|their|his|her)\s)\bmine\b/gi, 'yours')
    .replace(/\bmyself\b/gi, 'yourself')
    .replace(/\bme\b/gi, 'you');
}

const determiner = /^(the|a|an|your|his|her|their|its|this|that|these|those|some)$/i;

/** Words a noun phrase never runs into: prepositions, conjunctions, question words, pronouns, auxiliaries. */
const phraseEnds = new Set(
  ('about of for from with without at in on into onto over under near by through toward towards behind beside around ' +
    'across along past before after while when until because and or but nor to if whether that than as so then what who ' +
    'whom whose where why how which i you he she it we they me him us them is are was were be been being am has have had ' +
    'do does did can could will would shall should may might must twice again now here there today tonight').split(' '),
);

/**
 * Verbs that follow a subject ("the foreman knows", "where the foreman went"), in the forms a
 * noun would not take; the storyteller's own verbs stop a phrase in their base form too.
 */
const subjectVerbs = new Set(
  ('know knows knew known think thinks thought say says said tell tells told want wants wanted mean means meant need needs ' +
    'see sees saw seen go goes went gone come comes came leave leaves left find finds found hear hears heard happen happens ' +
    'happened work works worked live lives lived keep keeps kept hide hides hid hidden take takes took taken give gives gave ' +
    'given get gets got make makes made run runs ran fall falls fell steal steals stole stolen break breaks broke broken ' +
    'bring brings brought buy buys bought begin begins began write writes wrote speak speaks spoke lie lies lied lay ' +
    'sleep sleeps slept stand stands stood sit sits sat owe owes owed pay pays paid').split(' '),
);

/** Nouns that end like a manner adverb; any other word in -ly after a phrase's first word is one ("follow the novice quietly"). */
const nounsEndingInLy = new Set('family assembly anomaly butterfly dragonfly firefly gadfly homily monopoly supply ally belly bully gully holly jelly folly lily rally fly'.split(' '));

function isMannerAdverb(lower: string): boolean {
  return lower.endsWith('ly') && !nounsEndingInLy.has(lower);
}

/** The noun phrase that starts at `words[start]` (a determiner), up to four words after it; undefined if none follows. */
function nounPhraseAt(words: string[], start: number): string | undefined {
  const kept: string[] = [];
  for (const word of words.slice(start + 1, start + 5)) {
    const lower = word.toLowerCase();
    if (phraseEnds.has(lower) || determiner.test(word)) break;
    // A verb after the first word ends the phrase: "where the foreman went", and "the rope walk"
    // is read as "the rope" ("watch what happens at the rope walk").
    if (kept.length > 0 && (subjectVerbs.has(lower) || commonVerbs.has(lower) || (/(ed|ing)$/.test(lower) && baseVerb(lower)) || isMannerAdverb(lower))) break;
    kept.push(word);
  }
  return kept.length > 0 ? `${words[start]!.toLowerCase()} ${kept.join(' ')}` : undefined;
}

/**
 * The thing or person a clause is about, as a noun phrase of its own: what is asked or told
 * about ("ask the foreman about the tremors" → "the tremors"), what is searched for ("search
 * the shaft for the foreman" → "the foreman"), else the first noun phrase ("ask where the
 * foreman went" → "the foreman"). Never a run of the clause ("the foreman about the tremors").
 */
function findTarget(clause: string, kind: IntentKind): string | undefined {
  const words = clause.replace(/[,.;:!?]+/g, ' ').split(/\s+/).filter(Boolean);
  const phrases: { after: string; phrase: string }[] = [];
  words.forEach((word, index) => {
    if (!determiner.test(word)) return;
    const phrase = nounPhraseAt(words, index);
    if (phrase) phrases.push({ after: (words[index - 1] ?? '').toLowerCase(), phrase });
  });
  for (const after of kind === 'search' ? ['for', 'about'] : ['about']) {
    const found = phrases.find((candidate) => candidate.after === after);
    if (found) return found.phrase;
  }
  return phrases[0]?.phrase;
}

/** Whether a word reads as a verb the storyteller knows, in any form. */
export function isVerb(word: string): boolean {
  return baseVerb(word) !== undefined;
}

/** The base form of a verb the player inflected: "asks", "asked", "asking" → "ask". */
function baseVerb(word: string): string | undefined {
  const lower = word.toLowerCase();
  if (commonVerbs.has(lower)) return lower;
  const stems = [
    lower.replace(/ies$/, 'y'), lower.replace(/es$/, ''), lower.replace(/s$/, ''),
    lower.replace(/ied$/, 'y'), lower.replace(/ed$/, ''), lower.replace(/d$/, ''), lower.replace(/(.)\1ed$/, '$1'),
    lower.replace(/ing$/, ''), lower.replace(/ing$/, 'e'), lower.replace(/(.)\1ing$/, '$1'),
  ];
  return stems.find((stem) => stem !== lower && commonVerbs.has(stem));
}

function capitaliseFirst(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** "1 (ask Ysolde…)", "2. ask…", "\"ask…\"" → "ask…": numbering, brackets and quotes are not the player's words. */
function strip(text: string): string {
  let result = text.trim().replace(/\s+/g, ' ');
  for (let round = 0; round < 3; round++) {
    result = result
      .replace(/^\d{1,2}\s*[.):-]?\s+(?=\S)/, '')
      .replace(/^[("'“‘[]+\s*/, '')
      .replace(/\s*[)"'”’\].;:!,]+$/, '')
      .trim();
  }
  return result;
}

const questionStart = /^(who|what|where|when|why|how|which|whose|is|are|was|were|do|does|did|can|could|will|would|should|have|has)\b/i;

/**
 * "what they know about the foreman", "where the keeper went": a question word followed by a
 * subject, not by an auxiliary ("what do they know"), and no question mark: what the player
 * asks, not the question itself.
 */
function isIndirectQuestion(text: string): boolean {
  if (/\?\s*$/.test(text)) return false;
  const match = /^(?:who|what|where|when|why|which|whose|how(?:\s+(?:long|much|many|far|often))?)\s+(\S+)/i.exec(text);
  return match !== null && !/^(is|are|was|were|do|does|did|can|could|will|would|shall|should|may|might|must|have|has|had)$/i.test(match[1]!);
}

/** `knownNames` keeps "Mara, tell me…" from being lower-cased into "mara". */
export function readPlayerIntent(text: string, knownNames: readonly string[] = []): PlayerIntent {
  const original = strip(text);
  const asked = /\?\s*$/.test(text.trim().replace(/[)"'”’]+$/, '')) || questionStart.test(original);
  let clause = original.replace(/\?+$/, '');
  clause = clause.replace(/^(?:I\s+(?:want|would like|wish|try|decide|choose|mean|intend|need)\s+to|I'?ll|I\s+will|you\s+(?:will\s+)?|let\s+me|let's|please|try\s+to|then|and|now|maybe|perhaps)\s+/i, '');
  clause = toSecondPerson(clause.replace(/^I\s+/, ''));
  // "Mara, tell me about the ships": the player speaks to Mara.
  const addressed = /^(\p{Lu}[\p{L}'-]*(?:\s\p{Lu}[\p{L}'-]*)?),\s+(.+)$/u.exec(original);
  const firstWord = clause.split(' ')[0] ?? '';
  const isName = knownNames.some((name) => name.split(/\s+/)[0] === firstWord.replace(/[^\p{L}'-]/gu, ''));
  if (!isName && /^\p{Lu}\p{Ll}/u.test(firstWord)) clause = clause.charAt(0).toLowerCase() + clause.slice(1);
  const words = clause.split(' ');
  // "quietly follow the smugglers": an adverb may come before the verb.
  const verbAt = /ly$/i.test(words[0] ?? '') && words.length > 1 && baseVerb(words[1]!) ? 1 : 0;
  const base = asked && questionStart.test(clause) ? undefined : baseVerb(words[verbAt] ?? '');
  if (base) clause = [...words.slice(0, verbAt), base, ...words.slice(verbAt + 1)].join(' ');
  const verbFirst = base !== undefined;
  // The leading verb decides ("watch what happens at the rope walk" is waiting, not walking).
  const kind =
    (asked && !verbFirst ? 'social' : undefined) ??
    kindKeywords.find(([, pattern]) => pattern.test(clause.split(' ')[0] ?? ''))?.[0] ??
    kindKeywords.find(([, pattern]) => pattern.test(clause))?.[0] ??
    'other';
  let deed: string;
  if (verbFirst) deed = `you ${clause}`;
  else if (addressed) deed = `you turn to ${addressed[1]}: "${capitaliseFirst(addressed[2]!)}${/[.!?]$/.test(addressed[2]!) ? '' : asked ? '?' : '.'}"`;
  else if (asked && isIndirectQuestion(original)) deed = `you ask ${clause}`;
  else if (asked) deed = `you ask, "${capitaliseFirst(original.replace(/\?*$/, '?'))}"`;
  else if (/^(the|a|an|your|some)\s/i.test(clause) || clause.split(' ').length <= 3) deed = `you turn your attention to ${clause}`;
  else deed = `you say, "${capitaliseFirst(original)}${/[.!?]$/.test(original) ? '' : '.'}"`;
  const target = findTarget(clause, kind);
  return target === undefined ? { clause, verbFirst, kind, deed } : { clause, verbFirst, kind, target, deed };
}
