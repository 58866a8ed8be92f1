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
    'watch wave whisper win write yell').split(' '),
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
  const match = /\b(the|a|an|your|her|his|their)\s+([^,.;:!?]+)$/i.exec(clause);
  if (!match) return undefined;
  const words = match[2]!.trim().split(/\s+/).slice(0, 5);
  // "about the ships before dawn" → keep the noun phrase, not the trailing adverbial.
  const stop = words.findIndex(
    (word, index) => /^(before|after|while|when|until|because|and|or|but|to|for|with|at|in|on)$/i.test(word) || (index > 0 && commonVerbs.has(word.toLowerCase())),
  );
  const kept = stop > 0 ? words.slice(0, stop) : words;
  return kept.length > 0 ? `${match[1]!.toLowerCase()} ${kept.join(' ')}` : undefined;
}

/** `knownNames` keeps "Mara, tell me…" from being lower-cased into "mara". */
export function readPlayerIntent(text: string, knownNames: readonly string[] = []): PlayerIntent {
  let clause = text
    .trim()
    .replace(/^\s*(?:\d{1,2}\s*[.):-]\s*)/, '')
    .replace(/^["'“‘(]+|["'”’).!?;:\s]+$/g, '')
    .replace(/\s+/g, ' ');
  clause = clause.replace(/^(?:I\s+(?:want|would like|wish|try|decide|choose)\s+to|I'?ll|I\s+will|you\s+(?:will\s+)?|let\s+me|please)\s+/i, '');
  clause = toSecondPerson(clause.replace(/^I\s+/, ''));
  const firstWord = clause.split(' ')[0] ?? '';
  const isName = knownNames.some((name) => name.split(/\s+/)[0] === firstWord);
  if (!isName && /^\p{Lu}\p{Ll}/u.test(firstWord)) clause = clause.charAt(0).toLowerCase() + clause.slice(1);
  const lowerFirst = firstWord.toLowerCase();
  const verbFirst = commonVerbs.has(lowerFirst) || commonVerbs.has(lowerFirst.replace(/s$/, ''));
  // The leading verb decides ("watch what happens at the rope walk" is waiting, not walking).
  const kind =
    kindKeywords.find(([, pattern]) => pattern.test(firstWord))?.[0] ??
    kindKeywords.find(([, pattern]) => pattern.test(clause))?.[0] ??
    'other';
  const target = findTarget(clause);
  return target === undefined ? { clause, verbFirst, kind } : { clause, verbFirst, kind, target };
}
