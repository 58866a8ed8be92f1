import type { Queryable } from '../db/index.js';
import { seedFor } from '../story/request-hash.js';
import { keywordMatches } from './lore-keys.js';
import { loreColumns, toLoreEntry, type LoreEntry, type LoreRow } from './lore-repo.js';
import type { LoreOptions } from './lore-options.js';
import { loadVectorStore } from './vector-store.js';

/** One activated entry, as the prompt places it. */
export interface PlacedLore {
  id: string;
  text: string;
  /** Scenes from the end (0: after the newest); only for position at_depth. */
  depth: number;
}

export interface SelectedLore {
  beforeCharacters: PlacedLore[];
  afterCharacters: PlacedLore[];
  atDepth: PlacedLore[];
  estimatedTokens: number;
}

export interface LoreScan {
  /** Recent scene prose, oldest first. */
  recentScenes: readonly string[];
  /** What the next scene answers: the player's choice and instruction. Always scanned. */
  queryText: string;
  /** The turn's seed: an entry's probability roll is the same for the same turn. */
  seed: number;
  /** Scenes scanned for entries whose own scanDepth is null. */
  scanDepth: number;
  /** Tokens the activated entries may take in all. */
  tokenBudget: number;
  /** Entry id → cosine similarity to the query, for the entries that have an embedding. */
  similarities?: ReadonlyMap<string, number>;
  /** Similarity at or above which meaning stands in for a primary keyword. */
  similarityThreshold?: number;
}

export const defaultLoreScanDepth = 2;
export const defaultLoreTokenBudget = 800;
export const defaultLoreSimilarityThreshold = 0.5;

/** About four characters a token, as in build-turn-context, plus a little for the bullet. */
const tokensOf = (text: string) => Math.ceil(text.length / 4) + 2;

/** The text an activated entry adds to the prompt. */
export function loreText(entry: Pick<LoreEntry, 'title' | 'content'>): string {
  return `${entry.title}: ${entry.content}`;
}

function secondaryLogicHolds(entry: LoreOptions, text: string): boolean {
  const keys = entry.secondaryKeywords.filter((key) => key.trim() !== '');
  if (keys.length === 0) return true;
  const hits = keys.filter((key) => keywordMatches(key, text, entry)).length;
  switch (entry.selectiveLogic) {
    case 'and_any':
      return hits > 0;
    case 'and_all':
      return hits === keys.length;
    case 'not_any':
      return hits === 0;
    case 'not_all':
      return hits < keys.length;
  }
}

/** The roll for a `probability` below 100: uniform in [0, 100), fixed by the turn and the entry. */
function rollPercent(seed: number, entryId: string): number {
  return (seedFor('lore', seed, entryId) / 0x80000000) * 100;
}

type Activation = { entry: LoreEntry; rank: number; similarity: number };

/**
 * Which entries the next prompt holds, and where (SillyTavern World Info semantics, see
 * lore-options.ts). Constant entries first, then keyword matches, then matches by meaning;
 * within each, higher insertion order first; entries past the token budget are left out.
 * Each position lists its entries by insertion order, lowest first. Pure: same input, same
 * answer.
 */
export function chooseLore(entries: readonly LoreEntry[], scan: LoreScan): SelectedLore {
  const scannedText = (depth: number) => [...scan.recentScenes.slice(Math.max(0, scan.recentScenes.length - depth)), scan.queryText].join('\n');
  const textByDepth = new Map<number, string>();
  const textFor = (entry: LoreEntry) => {
    const depth = entry.scanDepth ?? scan.scanDepth;
    if (!textByDepth.has(depth)) textByDepth.set(depth, scannedText(depth));
    return textByDepth.get(depth)!;
  };
  const threshold = scan.similarityThreshold ?? defaultLoreSimilarityThreshold;

  const activated: Activation[] = [];
  for (const entry of entries) {
    if (!entry.enabled || entry.probability <= 0) continue;
    let rank: number;
    const similarity = scan.similarities?.get(entry.id) ?? -1;
    if (entry.constant) rank = 0;
    else {
      const text = textFor(entry);
      if (entry.keywords.some((key) => keywordMatches(key, text, entry))) rank = 1;
      else if (similarity >= threshold) rank = 2;
      else continue;
      if (!secondaryLogicHolds(entry, text)) continue;
    }
    if (entry.probability < 100 && rollPercent(scan.seed, entry.id) >= entry.probability) continue;
    activated.push({ entry, rank, similarity });
  }
  activated.sort((a, b) => a.rank - b.rank || b.entry.insertionOrder - a.entry.insertionOrder || b.similarity - a.similarity || a.entry.id.localeCompare(b.entry.id));

  const kept: PlacedLore[] = [];
  const order = new Map<string, number>();
  let tokens = 0;
  for (const { entry } of activated) {
    const text = loreText(entry);
    const cost = tokensOf(text);
    if (tokens + cost > scan.tokenBudget) continue;
    tokens += cost;
    order.set(entry.id, entry.insertionOrder);
    kept.push({ id: entry.id, text, depth: entry.position === 'at_depth' ? entry.depth : 0 });
  }
  const positionOf = new Map(entries.map((entry) => [entry.id, entry.position]));
  const byOrder = (a: PlacedLore, b: PlacedLore) => order.get(a.id)! - order.get(b.id)! || a.id.localeCompare(b.id);
  const at = (position: LoreOptions['position']) => kept.filter((item) => positionOf.get(item.id) === position).sort(byOrder);
  return { beforeCharacters: at('before_characters'), afterCharacters: at('after_characters'), atDepth: at('at_depth'), estimatedTokens: tokens };
}

/** How many entries' similarity is looked up by meaning per turn (the nearest ones). */
const nearestLoreLimit = 20;

/**
 * Loads a story's enabled entries and their similarity to the query, then chooses as
 * `chooseLore` does. Runs with no transaction open.
 */
export async function selectLore(
  db: Queryable,
  input: Omit<LoreScan, 'similarities'> & { storyId: string; queryEmbedding?: number[] },
): Promise<SelectedLore> {
  const { rows } = await db.query<LoreRow>(`SELECT ${loreColumns} FROM lore_entries WHERE story_id = $1 AND enabled AND probability > 0`, [input.storyId]);
  if (rows.length === 0) return { beforeCharacters: [], afterCharacters: [], atDepth: [], estimatedTokens: 0 };
  const similarities = new Map<string, number>();
  if (input.queryEmbedding) {
    const store = await loadVectorStore(db);
    const query = store.nearestSql({
      from: 'lore_entries l',
      column: 'l.embedding',
      select: 'l.id',
      where: 'l.story_id = $1 AND l.enabled AND NOT l.constant',
      params: [input.storyId],
      queryEmbedding: input.queryEmbedding,
      dimension: input.queryEmbedding.length,
      limit: nearestLoreLimit,
    });
    const { rows: near } = await db.query<{ id: string; similarity: number | string }>(query.sql, query.params);
    for (const row of near) similarities.set(row.id, Number(row.similarity));
  }
  return chooseLore(rows.map(toLoreEntry), { ...input, similarities });
}
