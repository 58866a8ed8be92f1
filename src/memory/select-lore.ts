import { readTogether, type Queryable, type SharedRead } from '../db/index.js';
import { seedFor } from '../story/request-hash.js';
import { keywordMatches } from './lore-keys.js';
import { loreColumns, toLoreEntry, type LoreEntry, type LoreRow } from './lore-repo.js';
import { inclusionGroupsOf, type LoreOptions, type LorePosition, type LoreRole } from './lore-options.js';
import { loadPathActivations, noTimedLore, timedLoreAt, type TimedLore } from './timed-lore.js';
import { loadVectorStore } from './vector-store.js';

/** One activated entry, as the prompt places it. */
export interface PlacedLore {
  id: string;
  text: string;
  /** Scenes from the end (0: after the newest); only for position at_depth. */
  depth: number;
  /** Who speaks it; only for position at_depth. */
  role: LoreRole;
}

export interface SelectedLore {
  beforeCharacters: PlacedLore[];
  afterCharacters: PlacedLore[];
  authorNoteTop: PlacedLore[];
  authorNoteBottom: PlacedLore[];
  atDepth: PlacedLore[];
  examplesTop: PlacedLore[];
  examplesBottom: PlacedLore[];
  /** Every entry placed, whatever its position: what sticky and cooldown count from. */
  activatedIds: string[];
  estimatedTokens: number;
}

export interface LoreScan {
  /** Recent scene prose, oldest first. */
  recentScenes: readonly string[];
  /** What the next scene answers: the player's choice and instruction. Always scanned. */
  queryText: string;
  /** The turn's seed: probability rolls and group draws are the same for the same turn. */
  seed: number;
  /** Scenes scanned for entries whose own scanDepth is null. */
  scanDepth: number;
  /** Tokens the activated entries may take in all. */
  tokenBudget: number;
  /** Entry id → cosine similarity to the query, for the entries that have an embedding. */
  similarities?: ReadonlyMap<string, number>;
  /** Similarity at or above which meaning stands in for a primary keyword. */
  similarityThreshold?: number;
  /** Scenes on the path before the one being written (what `delay` counts). */
  scenesSoFar?: number;
  /** Sticky and cooldown entries as the path to the head leaves them. */
  timed?: TimedLore;
  /** Activated entries' content is scanned for further keywords (default true). */
  recursive?: boolean;
  /** Scan passes at most, the first included; 0: until nothing new activates. */
  maxRecursionSteps?: number;
  /** Group scoring for entries whose own useGroupScoring is null (default false). */
  useGroupScoring?: boolean;
}

export const defaultLoreScanDepth = 2;
export const defaultLoreTokenBudget = 800;
export const defaultLoreSimilarityThreshold = 0.5;
/** Passes when no maximum is set: every pass must activate something new, so this only bounds the work. */
const passLimit = 50;

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

/**
 * Group scoring as SillyTavern counts it: one point per primary keyword found, plus the
 * secondary ones found under and_any, or all of them under and_all when all are found.
 */
function keywordScore(entry: LoreEntry, text: string): number {
  if (entry.keywords.length === 0) return 0;
  const primary = entry.keywords.filter((key) => keywordMatches(key, text, entry)).length;
  const secondary = entry.secondaryKeywords.filter((key) => keywordMatches(key, text, entry)).length;
  if (entry.secondaryKeywords.length === 0) return primary;
  if (entry.selectiveLogic === 'and_any') return primary + secondary;
  if (entry.selectiveLogic === 'and_all' && secondary === entry.secondaryKeywords.length) return primary + secondary;
  return primary;
}

/** A uniform draw in [0, 1), fixed by the turn and what it is for. */
function draw(seed: number, ...parts: string[]): number {
  return seedFor('lore', seed, ...parts) / 0x80000000;
}

interface Candidate {
  entry: LoreEntry;
  /** 0 sticky or constant, 1 keyword match, 2 meaning. */
  rank: number;
  sticky: boolean;
  similarity: number;
  text: string;
}

/**
 * Keeps one entry per inclusion group among this pass's candidates (SillyTavern's rules):
 * sticky entries hold their groups; group scoring keeps only the best-matching; a group
 * placed in an earlier pass takes no more; then the highest insertion order among
 * groupOverride entries wins, else a draw weighted by groupWeight.
 */
function filterInclusionGroups(candidates: Candidate[], placedGroups: ReadonlySet<string>, scan: LoreScan, pass: number): Candidate[] {
  const groups = new Map<string, Candidate[]>();
  for (const candidate of candidates) {
    for (const name of inclusionGroupsOf(candidate.entry.inclusionGroup)) groups.set(name, [...(groups.get(name) ?? []), candidate]);
  }
  if (groups.size === 0) return candidates;
  const removed = new Set<Candidate>();
  const keepOnly = (group: Candidate[], kept: Candidate[]) => group.forEach((c) => !kept.includes(c) && removed.add(c));
  for (const [name, group] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    const sticky = group.filter((c) => c.sticky);
    if (sticky.length > 0) {
      keepOnly(group, sticky);
      continue;
    }
    let members = group.filter((c) => !removed.has(c));
    const scoringDefault = scan.useGroupScoring ?? false;
    if (scoringDefault || members.some((c) => c.entry.useGroupScoring === true)) {
      const scores = members.map((c) => keywordScore(c.entry, c.text));
      const best = Math.max(...scores);
      members = members.filter((c, index) => {
        const scored = c.entry.useGroupScoring ?? scoringDefault;
        if (scored && scores[index]! < best) removed.add(c);
        return !removed.has(c);
      });
    }
    if (placedGroups.has(name)) {
      keepOnly(group, []);
      continue;
    }
    if (members.length <= 1) continue;
    const prioritised = members.filter((c) => c.entry.groupOverride).sort((a, b) => b.entry.insertionOrder - a.entry.insertionOrder || a.entry.id.localeCompare(b.entry.id));
    if (prioritised.length > 0) {
      keepOnly(group, [prioritised[0]!]);
      continue;
    }
    const total = members.reduce((sum, c) => sum + c.entry.groupWeight, 0);
    const roll = draw(scan.seed, 'group', name, String(pass)) * total;
    let cumulative = 0;
    const winner = members.find((c) => (cumulative += c.entry.groupWeight) >= roll) ?? members[0]!;
    keepOnly(group, [winner]);
  }
  return candidates.filter((c) => !removed.has(c));
}

/**
 * Which entries the next prompt holds, and where (SillyTavern World Info semantics, see
 * lore-options.ts). Scanning runs in passes: the first searches the recent scenes and the
 * player's words (and admits matches by meaning); each further pass also searches the
 * content of the entries activated so far, while recursion lasts. In a pass, sticky and
 * constant entries come first, then keyword matches, then matches by meaning, each by
 * insertion order, highest first; inclusion groups are settled, probabilities rolled, and
 * entries past the token budget left out. Each position lists its entries by insertion
 * order, lowest first. Pure: same input, same answer.
 */
export function chooseLore(entries: readonly LoreEntry[], scan: LoreScan): SelectedLore {
  const timed = scan.timed ?? noTimedLore;
  const scenesSoFar = scan.scenesSoFar ?? scan.recentScenes.length;
  const threshold = scan.similarityThreshold ?? defaultLoreSimilarityThreshold;
  const recursive = scan.recursive ?? true;
  const maxPasses = scan.maxRecursionSteps && scan.maxRecursionSteps > 0 ? Math.min(scan.maxRecursionSteps, passLimit) : passLimit;
  const baseText = new Map<number, string>();
  const recursionBuffer: string[] = [];
  const textFor = (entry: LoreEntry) => {
    const depth = entry.scanDepth ?? scan.scanDepth;
    if (!baseText.has(depth)) baseText.set(depth, [...scan.recentScenes.slice(Math.max(0, scan.recentScenes.length - depth)), scan.queryText].join('\n'));
    return [baseText.get(depth)!, ...recursionBuffer].join('\n');
  };

  const admitted: LoreEntry[] = [];
  const admittedIds = new Set<string>();
  const failedProbability = new Set<string>();
  const placedGroups = new Set<string>();
  let tokens = 0;
  let overflowed = false;
  // As in SillyTavern: recursion passes admit the lowest delay level at once; each higher
  // level waits until a pass finds nothing new.
  const delayLevels = [...new Set(entries.map((e) => e.delayUntilRecursion).filter((level) => level > 0))].sort((a, b) => a - b);
  let recursionLevel = delayLevels.shift() ?? 0;
  let inRecursion = false;

  for (let pass = 1; pass <= maxPasses; pass++) {
    const candidates: Candidate[] = [];
    for (const entry of entries) {
      if (!entry.enabled || entry.probability <= 0 || admittedIds.has(entry.id) || failedProbability.has(entry.id)) continue;
      const sticky = timed.sticky.has(entry.id);
      if (!sticky && (timed.cooldown.has(entry.id) || scenesSoFar < entry.delay)) continue;
      if (!sticky && entry.delayUntilRecursion > 0 && (!inRecursion || entry.delayUntilRecursion > recursionLevel)) continue;
      if (!sticky && inRecursion && entry.excludeRecursion) continue;
      const text = textFor(entry);
      const similarity = scan.similarities?.get(entry.id) ?? -1;
      let rank: number;
      if (sticky || entry.constant) rank = 0;
      else if (entry.keywords.some((key) => keywordMatches(key, text, entry))) rank = 1;
      else if (pass === 1 && similarity >= threshold) rank = 2;
      else continue;
      if (rank > 0 && !secondaryLogicHolds(entry, text)) continue;
      candidates.push({ entry, rank, sticky, similarity, text });
    }
    candidates.sort(
      (a, b) =>
        a.rank - b.rank ||
        Number(b.sticky) - Number(a.sticky) ||
        b.entry.insertionOrder - a.entry.insertionOrder ||
        b.similarity - a.similarity ||
        a.entry.id.localeCompare(b.entry.id),
    );

    const newlyAdmitted: LoreEntry[] = [];
    for (const { entry, sticky } of filterInclusionGroups(candidates, placedGroups, scan, pass)) {
      // Sticky entries skip the roll, as SillyTavern's do; a failed roll holds for the whole turn.
      if (!sticky && entry.probability < 100 && draw(scan.seed, entry.id) * 100 >= entry.probability) {
        failedProbability.add(entry.id);
        continue;
      }
      const cost = tokensOf(loreText(entry));
      if (!entry.ignoreBudget && tokens + cost > scan.tokenBudget) {
        overflowed = true;
        continue;
      }
      // Placed whatever the budget, but its tokens count against what follows (as in SillyTavern).
      tokens += cost;
      newlyAdmitted.push(entry);
    }
    for (const entry of newlyAdmitted) {
      admitted.push(entry);
      admittedIds.add(entry.id);
      for (const name of inclusionGroupsOf(entry.inclusionGroup)) placedGroups.add(name);
    }
    const feeding = newlyAdmitted.filter((entry) => !entry.preventRecursion);
    recursionBuffer.push(...feeding.map((entry) => entry.content));
    if (recursive && !overflowed && feeding.length > 0) inRecursion = true;
    else if (recursive && delayLevels.length > 0) {
      // Nothing new to follow: the next recursion level's entries get their turn. With
      // recursion off there is one pass, and entries delayed until recursion never come.
      inRecursion = true;
      recursionLevel = delayLevels.shift()!;
    } else break;
  }

  const byOrder = (a: LoreEntry, b: LoreEntry) => a.insertionOrder - b.insertionOrder || a.id.localeCompare(b.id);
  const at = (position: LorePosition): PlacedLore[] =>
    admitted
      .filter((entry) => entry.position === position)
      .sort(byOrder)
      .map((entry) => ({ id: entry.id, text: loreText(entry), depth: entry.position === 'at_depth' ? entry.depth : 0, role: entry.depthRole }));
  return {
    beforeCharacters: at('before_characters'),
    afterCharacters: at('after_characters'),
    authorNoteTop: at('author_note_top'),
    authorNoteBottom: at('author_note_bottom'),
    atDepth: at('at_depth'),
    examplesTop: at('examples_top'),
    examplesBottom: at('examples_bottom'),
    activatedIds: admitted.map((entry) => entry.id),
    estimatedTokens: tokens,
  };
}

/** A selection with nothing placed. */
export function emptyLoreSelection(): SelectedLore {
  return { beforeCharacters: [], afterCharacters: [], authorNoteTop: [], authorNoteBottom: [], atDepth: [], examplesTop: [], examplesBottom: [], activatedIds: [], estimatedTokens: 0 };
}

/** How many entries' similarity is looked up by meaning per turn (the nearest ones). */
const nearestLoreLimit = 20;

/**
 * The entries that can activate (enabled, with a chance): a read that may share a statement
 * with others (a turn's context). Its timestamps come back as text there, which toLoreEntry reads.
 */
export function liveLoreRead(storyId: string): SharedRead<LoreEntry[], LoreRow> {
  return {
    sql: `SELECT ${loreColumns} FROM lore_entries WHERE story_id = $1 AND enabled AND probability > 0`,
    params: [storyId],
    decode: (rows) => rows.map(toLoreEntry),
  };
}

/**
 * Loads a story's enabled entries, their similarity to the query and the timed effects the
 * path to `headSceneId` leaves, then chooses as `chooseLore` does for the scene after it.
 * Runs with no transaction open.
 */
export async function selectLore(
  db: Queryable,
  input: Omit<LoreScan, 'similarities' | 'timed' | 'scenesSoFar'> & {
    storyId: string;
    /** The scene the next one follows; null (the default) for the opening scene. */
    headSceneId?: string | null;
    /** The head's scene number (0, the default, before the opening scene). */
    headSceneNumber?: number;
    queryEmbedding?: number[];
    /** The story's live entries when the caller has read them already (liveLoreRead). */
    entries?: LoreEntry[];
  },
): Promise<SelectedLore> {
  const entries = input.entries ?? (await readTogether(db, [liveLoreRead(input.storyId)]))[0];
  if (entries.length === 0) return emptyLoreSelection();
  const timed =
    input.headSceneId && entries.some((entry) => entry.sticky > 0 || entry.cooldown > 0)
      ? timedLoreAt(entries, await loadPathActivations(db, input.storyId, input.headSceneId), (input.headSceneNumber ?? 0) + 1)
      : noTimedLore;
  const similarities = new Map<string, number>();
  if (input.queryEmbedding) {
    const store = await loadVectorStore(db);
    const query = store.nearestSql({
      table: 'lore_entries',
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
  return chooseLore(entries, { ...input, similarities, timed, scenesSoFar: input.headSceneNumber ?? 0 });
}
