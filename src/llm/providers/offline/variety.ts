import { hashText } from './seeded-random.js';

/**
 * Keeps sentences from recurring along a path. The provider only sees the last few scenes,
 * so fresh wording cannot rest on a look-back alone: each sentence slot walks through its
 * bank in a fixed, story-wide order, one step per scene number (a path's scene numbers are
 * consecutive), so a bank of at least `minimumBank` variants cannot repeat within ten scenes.
 * The recent scenes and the scene being written are checked as well, for the slots whose
 * filled-in text could still coincide.
 */
export const minimumBank = 11;

export interface Variety {
  /**
   * One of `options` (already filled in) for this scene. `perScene` is how many times the
   * slot can be used in one scene; the bank then needs `perScene × minimumBank` options.
   */
  pick(slot: string, options: readonly string[], perScene?: number): string;
  /** Records text written outside `pick` (the player's own words), so that nothing repeats it. */
  note(text: string): void;
}

/** Sentences as the repeat check compares them: lower case, names and punctuation folded. */
export function sentenceKey(sentence: string, names: readonly string[] = []): string {
  let key = sentence.toLowerCase();
  for (const name of names) for (const part of [name, name.split(/\s+/)[0] ?? name]) key = key.split(part.toLowerCase()).join('@');
  return key.replace(/[^\p{L}\p{N}@]+/gu, ' ').trim();
}

/** Splits prose into sentences; a quoted line and its speaker tag stay together. */
export function splitSentences(text: string): string[] {
  return text
    .split(/(?<=[.!?…]["”]?)\s+(?=["“]?\p{Lu})/u)
    .map((sentence) => sentence.trim())
    .filter(Boolean);
}

export function createVariety(storyKey: string, sceneNumber: number, recentScenes: readonly string[]): Variety {
  const seen = new Set(recentScenes.flatMap((scene) => splitSentences(scene).map((sentence) => sentenceKey(sentence))));
  const usesInScene = new Map<string, number>();
  const fresh = (text: string) => splitSentences(text).every((sentence) => !seen.has(sentenceKey(sentence)));
  const remember = (text: string) => {
    for (const sentence of splitSentences(text)) seen.add(sentenceKey(sentence));
  };
  return {
    pick(slot, options, perScene = 1) {
      if (options.length === 0) throw new Error(`sentence slot ${slot} has no options`);
      const use = usesInScene.get(slot) ?? 0;
      usesInScene.set(slot, use + 1);
      // A story-wide order of the bank, then one step per scene (and per use within a scene).
      const offset = hashText(`${storyKey}\u0000${slot}`);
      const start = offset + Math.max(0, sceneNumber) * perScene + use;
      let chosen = options[start % options.length]!;
      for (let step = 0; step < options.length; step++) {
        const candidate = options[(start + step) % options.length]!;
        if (fresh(candidate)) {
          chosen = candidate;
          break;
        }
      }
      remember(chosen);
      return chosen;
    },
    note: remember,
  };
}
