/** Small English helpers for slotting phrases into sentence templates. */

export function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function withArticle(noun: string): string {
  return `${/^[aeiou]/i.test(noun) ? 'an' : 'a'} ${noun}`;
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
