/** Small English helpers for slotting phrases into sentence templates. */
import pluralize from 'pluralize';

export function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function withArticle(noun: string): string {
  return `${/^[aeiou]/i.test(noun) ? 'an' : 'a'} ${noun}`;
}

// Words that end a noun phrase's head ("the letters of the keeper": "letters").
const afterHead = /\s(?:of|in|on|at|by|from|with|under|near|behind|beyond|across|over|for|to|between|along|above|below|beside|past|upon|into|outside|inside)\s/i;

/**
 * Whether a noun phrase takes a plural verb: "the debts" and "the letters of the keeper" do;
 * "the news", "the old mill" and "the salt-glass" do not (a word that can be either, like
 * "news" or "series", counts as one).
 */
export function isPluralPhrase(phrase: string): boolean {
  const head = phrase.split(afterHead)[0]!.trim().split(/\s+/).pop() ?? '';
  const word = (head.split('-').pop() ?? '').replace(/[^a-z']/gi, '').replace(/'s$/i, '').toLowerCase();
  return word.length > 0 && pluralize.isPlural(word) && !pluralize.isSingular(word);
}

/** The form that agrees with a noun phrase as subject: agree('the debts', 'matters', 'matter') is 'matter'. */
export function agree(phrase: string, singular: string, plural: string): string {
  return isPluralPhrase(phrase) ? plural : singular;
}

/** "a brass spyglass" → "the brass spyglass", for the second mention. */
export function definite(phrase: string): string {
  return phrase.replace(/^(a|an)\s+/i, 'the ');
}

/**
 * A second-person clause as someone else thinks of it: "draw your sword" → "draw their
 * sword"; `selfName` becomes "me" ("ask Mara about…" in Mara's head is "ask me about…").
 */
export function toThirdPerson(clause: string, selfName?: string): string {
  let result = clause
    .replace(/\byourself\b/g, 'themselves')
    .replace(/\byours\b/g, 'theirs')
    .replace(/\byour\b/g, 'their')
    // "you" as a subject becomes "they" ("learn what they can"), otherwise "them".
    .replace(/\byou (can|could|will|would|are|were|have|had|do|did|know|see|saw|want|need|think|may|might|must|should)\b/g, 'they $1')
    .replace(/\byou\b/g, 'them');
  if (selfName) result = replaceName(result, selfName, 'me', 'my');
  return result;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Replaces a character's full or given name in a clause ("ask Mara Quill…" → "ask them…"). */
export function replaceName(clause: string, name: string, replacement: string, possessive: string): string {
  const first = name.split(/\s+/)[0] ?? name;
  let result = clause;
  for (const form of [name, first]) {
    result = result
      .replace(new RegExp(`\\b${escapeRegExp(form)}'s\\b`, 'g'), possessive)
      .replace(new RegExp(`\\b${escapeRegExp(form)}\\b`, 'g'), replacement);
  }
  return result;
}

export function mentionsName(text: string, name: string): boolean {
  const first = name.split(/\s+/)[0] ?? name;
  return text.toLowerCase().includes(name.toLowerCase()) || new RegExp(`\\b${escapeRegExp(first)}\\b`, 'i').test(text);
}
