import type { Embedder } from '../embedder.js';
import { loadOfflineVocabulary, type OfflineVocabulary } from './offline-vocabulary.js';

/**
 * Sentence vectors from 60k compact GloVe word vectors (data/offline-embeddings), no network:
 * stop words dropped, the rest weighted by rarity (SIF: a / (a + p(w))), averaged and
 * L2-normalised. Words outside the vocabulary are stemmed, or else get a hashed vector so a
 * name like "Hanna" still matches itself.
 */
export async function createOfflineEmbedder(options: { dataDir?: string } = {}): Promise<Embedder> {
  const vocabulary = await loadOfflineVocabulary(options.dataDir);
  return {
    name: 'offline',
    model: 'wink-sg-100d-compact',
    dimension: vocabulary.dimension,
    async embed(texts, signal) {
      return texts.map((text) => {
        signal?.throwIfAborted();
        return embedText(vocabulary, text);
      });
    },
  };
}

/** SIF's smoothing constant; the paper found 1e-3 to 1e-4 works across tasks. */
const SIF_SMOOTHING = 1e-3;
/**
 * The vocabulary is in corpus-frequency order, so p(w) is estimated by Zipf's law from the
 * rank: p(rank r) = 1 / (r × H), H ≈ ln(N) + γ for the 341,479-word source vocabulary.
 */
const ZIPF_NORMALISER = Math.log(341_479) + 0.5772;

function sifWeight(rank: number): number {
  const probability = 1 / ((rank + 1) * ZIPF_NORMALISER);
  return SIF_SMOOTHING / (SIF_SMOOTHING + probability);
}

function embedText(vocabulary: OfflineVocabulary, text: string): number[] {
  const tokens = tokenise(text);
  const contentWords = tokens.filter((token) => !STOP_WORDS.has(token));
  // A text of only stop words ("Who was he?") still says something; use them rather than nothing.
  const words = contentWords.length > 0 ? contentWords : tokens;
  const sum = new Float64Array(vocabulary.dimension);
  for (const word of words) addWordVector(vocabulary, word, sum);
  if (words.length === 0) {
    // No letters at all ("42", "!!!"): hash the text so equal texts still match each other.
    const trimmed = text.trim();
    if (trimmed.length === 0) return constantFallback(vocabulary.dimension);
    addHashedVector(trimmed, 1, sum);
  }
  return toUnitVector(sum) ?? constantFallback(vocabulary.dimension);
}

function addWordVector(vocabulary: OfflineVocabulary, word: string, target: Float64Array): void {
  const rank = rankOfWordOrStem(vocabulary, word);
  if (rank !== undefined) vocabulary.addScaledVector(rank, sifWeight(rank), target);
  // Unknown words are rare by definition, so they get the full weight of 1.
  else addHashedVector(word, 1, target);
}

function rankOfWordOrStem(vocabulary: OfflineVocabulary, word: string): number | undefined {
  const rank = vocabulary.rankOf(word);
  if (rank !== undefined) return rank;
  for (const candidate of stemCandidates(word)) {
    const stemRank = vocabulary.rankOf(candidate);
    if (stemRank !== undefined) return stemRank;
  }
  return undefined;
}

const SUFFIX_RULES: ReadonlyArray<readonly [suffix: string, replacements: readonly string[]]> = [
  ['ies', ['y']],
  ['ied', ['y']],
  ['ing', ['', 'e']],
  ['ed', ['', 'e']],
  ['es', ['']],
  ['s', ['']],
  ['ly', ['']],
  ['ness', ['']],
  ['est', ['', 'e']],
  ['er', ['', 'e']],
];
/** Tried only after suffixes: "unsheathed" has no vector, "sheathed" does, and is close. */
const PREFIXES = ['un', 're', 'dis', 'mis', 'over', 'out'];
const MIN_STEM_LENGTH = 3;

/**
 * Light stemming for inflections the frequency-limited vocabulary lacks, most specific
 * first; a candidate is used only if it is itself a known word.
 */
export function stemCandidates(word: string): string[] {
  const candidates = suffixCandidates(word);
  for (const prefix of PREFIXES) {
    const rest = word.slice(prefix.length);
    if (word.startsWith(prefix) && rest.length >= MIN_STEM_LENGTH + 1) {
      candidates.push(rest, ...suffixCandidates(rest));
    }
  }
  return candidates;
}

function suffixCandidates(word: string): string[] {
  const candidates: string[] = [];
  for (const [suffix, replacements] of SUFFIX_RULES) {
    if (!word.endsWith(suffix)) continue;
    const base = word.slice(0, -suffix.length);
    if (base.length < MIN_STEM_LENGTH - 1) continue;
    for (const replacement of replacements) candidates.push(base + replacement);
    // "stopped" → "stop", "running" → "run".
    const last = base.at(-1);
    if (last !== undefined && base.at(-2) === last) candidates.push(base.slice(0, -1));
  }
  return candidates.filter((candidate) => candidate.length >= MIN_STEM_LENGTH);
}

/** Lowercase words of letters only, accents folded ("café" → "cafe"), clitics dropped. */
export function tokenise(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[’‘`]/g, "'")
    // "Hanna's" → "hanna", "soldiers'" → "soldiers", "don't" → "do".
    .replace(/n't\b/g, '')
    .replace(/'(s|d|ll|re|ve|m)\b/g, '')
    .split(/[^\p{L}]+/u)
    .filter((token) => token.length > 1);
}

/**
 * Character trigrams of the word, each hashed to a dimension and a sign: deterministic, so
 * an unknown name matches itself, and near-spellings ("Hanna", "Hannah") stay close.
 */
function addHashedVector(word: string, weight: number, target: Float64Array): void {
  const padded = `<${word}>`;
  const hashed = new Float64Array(target.length);
  for (let i = 0; i + 3 <= padded.length; i++) {
    const hash = fnv1a(padded.slice(i, i + 3));
    hashed[hash % target.length]! += hash & 0x8000_0000 ? -1 : 1;
  }
  const unit = toUnitVector(hashed);
  if (!unit) return;
  for (let d = 0; d < target.length; d++) target[d]! += weight * unit[d]!;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function toUnitVector(vector: Float64Array): number[] | undefined {
  let sumOfSquares = 0;
  for (const value of vector) sumOfSquares += value * value;
  if (!(sumOfSquares > 1e-24) || !Number.isFinite(sumOfSquares)) return undefined;
  const norm = Math.sqrt(sumOfSquares);
  return Array.from(vector, (value) => value / norm);
}

/** Empty text: a fixed unit vector with no zero components, so cosine is never NaN. */
function constantFallback(dimension: number): number[] {
  return new Array<number>(dimension).fill(1 / Math.sqrt(dimension));
}

// Function words that carry no topic; kept as one string so the list is easy to scan.
const STOP_WORDS: ReadonlySet<string> = new Set(
  `a about above after again against all am an and any are as at be because been before being
  below between both but by can could did do does doing down during each few for from further
  had has have having he her here hers herself him himself his how if in into is it its itself
  just me more most my myself no nor not now of off on once only or other our ours ourselves
  out over own same she should so some such than that the their theirs them themselves then
  there these they this those through to too under until up upon very was we were what when
  where which while who whom why will with would you your yours yourself yourselves
  also yet may might must shall ca wo sha us let`.split(/\s+/),
);
