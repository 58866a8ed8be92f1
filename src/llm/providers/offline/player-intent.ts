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
    .replace(/\bmine\b/gi, 'yours')
    .replace(/\bmyself\b/gi, 'yourself')
    .replace(/\bme\b/gi, 'you');
}

function findTarget(clause: string): string | undefined {
  const match = /\b(the|a|an|your|his|their)\s+([^,.;:!?]+)$/i.exec(clause);
  if (!match) return undefined;
  const words = match[2]!.trim().split(/\s+/).slice(0, 5);
  // "about the ships before dawn" → keep the noun phrase, not the trailing adverbial.
  const stop = words.findIndex(
    (word, index) => /^(before|after|while|when|until|because|and|or|but|to|for|with|at|in|on|is|are|was|were|has|have|had|can|will|would|twice|again|now)$/i.test(word) || (index > 0 && commonVerbs.has(word.toLowerCase())),
  );
  const kept = stop > 0 ? words.slice(0, stop) : words;
  return kept.length > 0 ? `${match[1]!.toLowerCase()} ${kept.join(' ')}` : undefined;
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
  else if (asked) deed = `you ask, "${capitaliseFirst(original.replace(/\?*$/, '?'))}"`;
  else if (/^(the|a|an|your|some)\s/i.test(clause) || clause.split(' ').length <= 3) deed = `you turn your attention to ${clause}`;
  else deed = `you say, "${capitaliseFirst(original)}${/[.!?]$/.test(original) ? '' : '.'}"`;
  const target = findTarget(clause);
  return target === undefined ? { clause, verbFirst, kind, deed } : { clause, verbFirst, kind, target, deed };
}
