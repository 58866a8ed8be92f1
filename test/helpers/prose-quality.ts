/**
 * Measures of storyteller prose shared by the offline-quality bench and the offline provider
 * tests: internal text leaking into the prose, sentences recurring along a path, whether an
 * instruction's words reached the first paragraph, and how much of the setting a scene uses.
 */
import { sentenceKey, splitSentences } from '../../src/llm/providers/offline/variety.js';

const stopWords = new Set(
  ('a an the and or but so to of in on at by for with from into onto about as is are was were be been am do does did ' +
    'i me my mine myself you your yours yourself we us our they them their he him his she her it its this that these ' +
    'those there here what where when why how who whom which whose if then than too very just not no yes can could ' +
    'will would shall should may might must have has had also up down out off over under again once more most some ' +
    'any all each every other such own same only while until because before after above below between through during ' +
    'let lets please try want wants like going maybe perhaps now').split(' '),
);

/** Lower-case content words, folded to a rough stem so that "asks", "asked" and "ask" match. */
export function contentWords(text: string): string[] {
  const words = text.toLowerCase().replace(/[’]/g, "'").match(/[\p{L}][\p{L}'-]*/gu) ?? [];
  return [...new Set(words.map((word) => word.replace(/'s$/, '')).filter((word) => word.length >= 3 && !stopWords.has(word)).map(stem))];
}

function stem(word: string): string {
  return word.replace(/(ing|ed|es|s)$/, '').replace(/(.)\1$/, '$1').replace(/e$/, '');
}

export interface Leak {
  kind: string;
  excerpt: string;
}

const leakPatterns: [string, RegExp][] = [
  ['scene number', /\bscene\s+\d+/i],
  ['"the player"', /\b(the )?player'?s?\b/i],
  ['memory label', /\b(remembers|memories|memory|observation|thought|reaction|reflection)\s*:/i],
  ['prompt heading', /(^|\n)\s*(#{1,4}\s|-\s+remembers)/],
  ['numbered instruction', /\(\s*\d+\s*\)|\b\d+\s*\(/],
  ['prompt wording', /\b(instruction|storyteller|JSON)\b|\bchoices?:/i],
];

/**
 * Internal text in the prose: the patterns above, and any sentence of a character's private
 * thought (`privateTexts`) copied into it. Whole sentences, because a thought may quote the
 * player's own action, which the prose rightly repeats.
 */
export function findLeaks(prose: string, privateTexts: readonly string[] = []): Leak[] {
  const leaks: Leak[] = [];
  for (const [kind, pattern] of leakPatterns) {
    const match = pattern.exec(prose);
    if (match) leaks.push({ kind, excerpt: prose.slice(Math.max(0, match.index - 30), match.index + 50) });
  }
  const proseKeys = new Set(splitSentences(prose).map((sentence) => sentenceKey(sentence)));
  for (const text of privateTexts) {
    const copied = splitSentences(text).find((sentence) => sentence.split(/\s+/).length >= 4 && proseKeys.has(sentenceKey(sentence)));
    if (copied) leaks.push({ kind: 'private thought', excerpt: copied });
  }
  return leaks;
}

export interface Repeat {
  sentence: string;
  firstScene: number;
  againScene: number;
}

/**
 * Sentences that recur within `window` scenes of a path (scenes given in path order), with
 * character names folded together: "Mara nods." and "Tobias nods." count as one sentence.
 */
export function findRepeats(scenes: readonly string[], names: readonly string[], window = 10): Repeat[] {
  const lastSeen = new Map<string, number>();
  const repeats: Repeat[] = [];
  const sortedNames = [...names].sort((a, b) => b.length - a.length);
  for (const [index, scene] of scenes.entries()) {
    const inThisScene = new Set<string>();
    for (const sentence of splitSentences(scene)) {
      const key = sentenceKey(sentence, sortedNames);
      if (key.split(' ').length < 3) continue;
      const previous = lastSeen.get(key);
      if (inThisScene.has(key) || (previous !== undefined && index - previous <= window)) {
        repeats.push({ sentence, firstScene: (previous ?? index) + 1, againScene: index + 1 });
      }
      inThisScene.add(key);
      lastSeen.set(key, index);
    }
  }
  return repeats;
}

/** Whether every content word of the instruction appears in the scene's first paragraph. */
export function instructionCarriedOut(instruction: string, scene: string): { carried: boolean; missing: string[] } {
  const firstParagraph = new Set(contentWords(scene.split(/\n\s*\n/)[0] ?? ''));
  const missing = contentWords(instruction).filter((word) => !firstParagraph.has(word));
  return { carried: missing.length === 0, missing };
}

/** How many of the setting's content words the scene uses. */
export function settingWordsUsed(setting: string, scene: string): number {
  const inScene = new Set(contentWords(scene));
  return contentWords(setting).filter((word) => inScene.has(word) && word.length >= 4).length;
}
