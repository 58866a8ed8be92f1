import { readTogether, type Database, type Queryable } from '../db/index.js';
import { AppError } from '../errors.js';
import { estimateTokens } from '../llm/token-count.js';
import type { TaskCharacter } from '../llm/provider.js';
import type { Embedder } from './embedder.js';
import { ensureEmbeddingSettings } from './embedding-settings.js';
import { embedOrDefer } from './embedding-backfill.js';
import { getLogger } from '../logger.js';
import { loadPath, type LoadedPath } from '../world/scene-path.js';
import { charactersAtRead, relationshipsAtRead } from '../world/world-state-repo.js';
import { defaultLoreScanDepth, defaultLoreTokenBudget, liveLoreRead, selectLore, type PlacedLore, type SelectedLore } from './select-lore.js';
import type { LoreEntry } from './lore-repo.js';
import type { LoreRole } from './lore-options.js';
import { digestScene } from './prepare-scene-memories.js';
import { relevantInstructionsSearch, relevantStoryMemoriesSearch, retrieveMemoriesOfCharacters, searchTogether, similarScenesSearch, type RelevantText } from './retrieve-memories.js';
import { loadLatestSummary, newestSummariesRead, newestSummaryFrom, type NewestSummaries } from './summarise.js';
import { describeFacts, factsAtRead } from '../world/story-facts.js';

export interface TurnContext {
  /** The newest scenes of the head path, oldest first. */
  recentScenes: { sceneNumber: number; content: string }[];
  /** Rolling summary of the scenes before the window. */
  summary?: string;
  /** The story facts true at the head ("what is true now"), one line each. */
  facts?: string[];
  /** Story-wide memories (scene digests, facts) relevant to the query. */
  memories: string[];
  /** Activated lore placed before the character definitions. */
  lore: string[];
  /** Activated lore placed after the character definitions. */
  loreAfterCharacters?: string[];
  /** Activated lore placed among the recent scenes, `depth` scenes from the end, in its role's voice. */
  loreAtDepth?: { depth: number; text: string; role?: LoreRole }[];
  /** Activated lore opening and closing the author's instructions (SillyTavern's author's note). */
  loreAuthorNoteTop?: string[];
  loreAuthorNoteBottom?: string[];
  /** Activated lore given as example blocks before and after a card's example dialogue. */
  loreExamplesTop?: string[];
  loreExamplesBottom?: string[];
  /** Every lore entry the selection placed, for the scene's record (timed effects count from it). */
  activatedLoreIds?: string[];
  similarScenes: string[];
  /** The player's earlier instructions relevant to the query. */
  instructions: string[];
  /** Characters the action, the instruction or the recent scenes name, or present lately; each with only its own memories. */
  characters: TaskCharacter[];
  /** The character memories recalled for the characters (the turn's commit marks them recalled). */
  recalledMemoryIds?: string[];
  /** The summaries read for `summary`, which also answer the summary update after the scene. */
  summariesRead?: NewestSummaries;
  estimatedTokens: number;
}

export interface BuildTurnContextInput {
  storyId: string;
  /** null before the opening scene: the context is then empty. */
  headSceneId: string | null;
  /** What the next scene is about: the chosen action and instruction, say. Defaults to the head scene. */
  queryText?: string;
  tokenBudget?: number;
  recentWindow?: number;
  /** Characters included at most, most relevant first (named by the player, then present lately). */
  maxCharacters?: number;
  memoriesPerCharacter?: number;
  /** The head's path when the caller has walked it already, with at least `recentWindow` recent scenes. */
  path?: LoadedPath;
  /** The turn's seed, so that lore probabilities roll the same for the same turn. */
  loreSeed?: number;
  /** Recent scenes searched for lore keywords (entries may override it). */
  loreScanDepth?: number;
  /** Tokens activated lore may take in all. */
  loreTokenBudget?: number;
  /** Book-wide recursion and group settings (the story's lore settings). */
  loreRecursive?: boolean;
  loreMaxRecursionSteps?: number;
  loreUseGroupScoring?: boolean;
}

/** Where each placed entry goes in the context. */
function placeLore(lore: SelectedLore): Pick<
  TurnContext,
  'lore' | 'loreAfterCharacters' | 'loreAtDepth' | 'loreAuthorNoteTop' | 'loreAuthorNoteBottom' | 'loreExamplesTop' | 'loreExamplesBottom' | 'activatedLoreIds'
> {
  const texts = (items: PlacedLore[]) => items.map((item) => item.text);
  return {
    lore: texts(lore.beforeCharacters),
    loreAfterCharacters: texts(lore.afterCharacters),
    loreAtDepth: lore.atDepth.map((item) => ({ depth: item.depth, text: item.text, role: item.role })),
    loreAuthorNoteTop: texts(lore.authorNoteTop),
    loreAuthorNoteBottom: texts(lore.authorNoteBottom),
    loreExamplesTop: texts(lore.examplesTop),
    loreExamplesBottom: texts(lore.examplesBottom),
    activatedLoreIds: lore.activatedIds,
  };
}

/** The context's lore lists apart from `lore` itself, in the order they are dropped when over budget. */
const optionalLoreLists = ['loreAtDepth', 'loreExamplesBottom', 'loreExamplesTop', 'loreAuthorNoteBottom', 'loreAuthorNoteTop', 'loreAfterCharacters'] as const;

export { estimateTokens };

/** Counts the tokens of a text: a model's tokenizer, or the conservative estimate. */
export type CountTokens = (text: string) => number;

function characterTokens(character: TaskCharacter, count: CountTokens): number {
  return count(
    [character.name, character.description, character.personality, character.scenario, character.mood, ...(character.memories ?? [])].filter(Boolean).join(' '),
  ) + 8;
}

export function estimateContextTokens(context: Omit<TurnContext, 'estimatedTokens'>, count: CountTokens = estimateTokens): number {
  let tokens = 0;
  for (const scene of context.recentScenes) tokens += count(scene.content) + 4;
  if (context.summary) tokens += count(context.summary);
  for (const fact of context.facts ?? []) tokens += count(fact) + 2;
  for (const list of [context.memories, context.lore, context.similarScenes, context.instructions]) {
    for (const item of list) tokens += count(item) + 2;
  }
  for (const name of optionalLoreLists) {
    for (const item of context[name] ?? []) tokens += count(typeof item === 'string' ? item : item.text) + 2;
  }
  for (const character of context.characters) tokens += characterTokens(character, count);
  return tokens;
}

/** The budget when the model publishes no context window (the offline storyteller). */
export const defaultContextTokenBudget = 3000;

/**
 * Everything the next scene's prompt draws on, within `tokenBudget` (Infinity: all of it,
 * for the caller to fit with `fitToBudget` against the model's window). Runs with no transaction
 * open (it embeds the query). When over budget, the lowest-priority items go first: similar
 * scenes, then lore, then story memories, then character memories and instructions; the
 * recent window and the summary stay (shortened only as a last resort).
 */
export async function buildTurnContext(db: Database, embedder: Embedder, input: BuildTurnContextInput): Promise<TurnContext> {
  const tokenBudget = input.tokenBudget ?? defaultContextTokenBudget;
  const recentWindow = input.recentWindow ?? 4;
  await ensureEmbeddingSettings(db, embedder);
  const loreFor = (
    recentScenes: string[],
    queryText: string,
    queryEmbedding: number[] | undefined,
    head: { id: string; sceneNumber: number } | null,
    entries?: LoreEntry[],
  ) =>
    selectLore(db, {
      ...(entries ? { entries } : {}),
      storyId: input.storyId,
      headSceneId: head?.id ?? null,
      headSceneNumber: head?.sceneNumber ?? 0,
      ...(input.loreRecursive !== undefined ? { recursive: input.loreRecursive } : {}),
      ...(input.loreMaxRecursionSteps !== undefined ? { maxRecursionSteps: input.loreMaxRecursionSteps } : {}),
      ...(input.loreUseGroupScoring !== undefined ? { useGroupScoring: input.loreUseGroupScoring } : {}),
      recentScenes,
      queryText,
      ...(queryEmbedding ? { queryEmbedding } : {}),
      seed: input.loreSeed ?? 0,
      scanDepth: input.loreScanDepth ?? defaultLoreScanDepth,
      tokenBudget: input.loreTokenBudget ?? defaultLoreTokenBudget,
    });
  if (input.headSceneId === null) {
    // Before the opening scene only lore can apply (constant entries, or ones the setting names).
    const queryText = input.queryText?.trim() ?? '';
    const [queryEmbedding] = queryText === '' ? [] : ((await embedOrDefer(embedder, [queryText], getLogger().child({ storyId: input.storyId }), 'retrieval')) ?? []);
    const lore = await loreFor([], queryText, queryEmbedding, null);
    return fitToBudget(
      {
        recentScenes: [],
        memories: [],
        ...placeLore(lore),
        similarScenes: [],
        instructions: [],
        characters: [],
      },
      tokenBudget,
    );
  }
  const headSceneId = input.headSceneId;

  // The tree is walked once per turn; every path-scoped read below gets the ids.
  const path = input.path ?? (await loadPath(db, input.storyId, headSceneId, Math.max(1, recentWindow)));
  const recent = path.recent.slice(-Math.max(1, recentWindow));
  const head = recent.at(-1);
  if (!head) throw new AppError('not_found', `No scene ${headSceneId} in story ${input.storyId}.`);
  const windowStart = recent[0]!.sceneNumber;
  const queryText = input.queryText?.trim() || head.content;
  // With the embedder down the turn goes on without what is found by meaning (similar scenes,
  // memories and instructions); the summary, facts, keyword lore and recent memories remain.
  const [queryEmbedding] = (await embedOrDefer(embedder, [queryText], getLogger().child({ storyId: input.storyId }), 'retrieval')) ?? [];

  const scope = { storyId: input.storyId, headSceneId, pathSceneIds: path.ids };
  // What is found by meaning, in one statement: story memories, similar scenes, instructions.
  const byMeaning = async (): Promise<RelevantText[][]> => {
    if (!queryEmbedding) return [[], [], []];
    const query = { ...scope, queryEmbedding };
    return searchTogether(db, [
      await relevantStoryMemoriesSearch(db, { ...query, beforeSceneNumber: windowStart, limit: 5, minSimilarity: 0.1 }),
      await similarScenesSearch(db, { ...query, beforeSceneNumber: windowStart, limit: 2, minSimilarity: 0.2 }),
      await relevantInstructionsSearch(db, { ...query, limit: 3, minSimilarity: 0.1 }),
    ]);
  };
  // Independent reads: on a server pool they run side by side (PGlite queues them anyway).
  // One statement: the summaries, read for one scene further than the context needs (the
  // summary update after the scene asks for exactly that, planSummaryUpdate, and gets it
  // from here), the facts true at the head, and the lore entries that can activate.
  const storyRead = readTogether(db, [
    newestSummariesRead(input.storyId, { atMostThrough: windowStart, pathSceneIds: path.ids }),
    factsAtRead(input.storyId, path.ids),
    liveLoreRead(input.storyId),
  ]);
  const [[summariesRead, facts], [storyMemories = [], similar = [], instructions = []], lore, characters] = await Promise.all([
    storyRead,
    byMeaning(),
    storyRead.then(([, , entries]) =>
      loreFor(
        recent.map((scene) => scene.content),
        queryText,
        queryEmbedding,
        head,
        entries,
      ),
    ),
    loadContextCharacters(db, {
      ...scope,
      ...(queryEmbedding ? { queryEmbedding } : {}),
      queryText,
      recentScenes: recent,
      maxCharacters: input.maxCharacters ?? 6,
      memoriesPerCharacter: input.memoriesPerCharacter ?? 3,
    }),
  ]);

  const known = newestSummaryFrom(summariesRead, windowStart - 1);
  const summary = known === 'unknown' ? await loadLatestSummary(db, input.storyId, { headSceneId, atMostThrough: windowStart - 1, pathSceneIds: path.ids }) : known;
  const context: Omit<TurnContext, 'estimatedTokens'> = {
    recentScenes: recent.map((scene) => ({ sceneNumber: scene.sceneNumber, content: scene.content })),
    ...(summary ? { summary: summary.content } : {}),
    ...(facts.length > 0 ? { facts: describeFacts(facts) } : {}),
    memories: storyMemories.map((memory) => memory.content),
    ...placeLore(lore),
    similarScenes: similar.map((scene) => `Scene ${scene.sceneNumber}: ${digestScene(scene.content, 600)}`),
    instructions: instructions.map((instruction) => instruction.content),
    characters: characters.characters,
    recalledMemoryIds: characters.recalledMemoryIds,
    summariesRead,
  };
  return fitToBudget(context, tokenBudget);
}

/**
 * Drops the lowest-priority items until the context fits `tokenBudget` as `count` measures
 * it. Works on a copy, so that the caller can fit the same context again to a smaller budget.
 */
export function fitToBudget(whole: Omit<TurnContext, 'estimatedTokens'>, tokenBudget: number, count: CountTokens = estimateTokens): TurnContext {
  const context = copyContext(whole);
  const fits = () => estimateContextTokens(context, count) <= tokenBudget;
  const dropFrom = (list: unknown[]) => {
    while (!fits() && list.length > 0) list.pop();
  };
  dropFrom(context.similarScenes);
  for (const name of optionalLoreLists) dropFrom(context[name] ?? []);
  dropFrom(context.lore);
  dropFrom(context.memories);
  // Characters' own memories, fewest-relevant (last) first, round robin across characters.
  while (!fits() && context.characters.some((c) => (c.memories?.length ?? 0) > 0)) {
    for (const character of [...context.characters].reverse()) {
      if (fits()) break;
      character.memories?.pop();
    }
  }
  dropFrom(context.instructions);
  dropFrom(context.characters);
  // Facts outrank everything but the recent scenes and the summary: the oldest go first.
  while (!fits() && (context.facts?.length ?? 0) > 0) context.facts!.shift();
  // Last resort: shorten the oldest recent scenes, then the summary, keeping the newest scene.
  // Characters per token are measured on the text itself, so that a real tokenizer's count is met.
  for (const scene of context.recentScenes) {
    if (fits()) break;
    const excess = estimateContextTokens(context, count) - tokenBudget;
    const keepChars = Math.max(200, scene.content.length - Math.ceil(excess * charsPerToken(scene.content, count)) - 8);
    if (keepChars < scene.content.length) scene.content = `…${scene.content.slice(scene.content.length - keepChars)}`;
  }
  if (!fits() && context.summary) {
    const excess = estimateContextTokens(context, count) - tokenBudget;
    context.summary = context.summary.slice(0, Math.max(0, context.summary.length - Math.ceil(excess * charsPerToken(context.summary, count)) - 8));
  }
  return { ...context, estimatedTokens: estimateContextTokens(context, count) };
}

function charsPerToken(text: string, count: CountTokens): number {
  return text.length / Math.max(1, count(text));
}

function copyContext(context: Omit<TurnContext, 'estimatedTokens'>): Omit<TurnContext, 'estimatedTokens'> {
  return {
    ...context,
    recentScenes: context.recentScenes.map((scene) => ({ ...scene })),
    ...(context.facts ? { facts: [...context.facts] } : {}),
    memories: [...context.memories],
    lore: [...context.lore],
    ...Object.fromEntries(
      optionalLoreLists.filter((name) => context[name]).map((name) => [name, (context[name] as unknown[]).map((item) => (typeof item === 'string' ? item : { ...(item as object) }))]),
    ),
    similarScenes: [...context.similarScenes],
    instructions: [...context.instructions],
    characters: context.characters.map((character) => ({ ...character, ...(character.memories ? { memories: [...character.memories] } : {}) })),
  };
}

/**
 * Everyone the next scene may need, as the world stands at the head: the characters the
 * chosen action or the player's instruction name (by name, nickname or first name, compared
 * as normalised words) first, then those present in the recent scenes, newest first, then
 * those the recent scenes name. Whatever created a character (a scene, a card, an import,
 * the API) it is found the same way; characters met only on other branches are not.
 */
async function loadContextCharacters(
  db: Queryable,
  input: {
    storyId: string;
    headSceneId: string;
    pathSceneIds: readonly string[];
    queryEmbedding?: number[];
    queryText: string;
    recentScenes: { id: string; sceneNumber: number; content: string }[];
    maxCharacters: number;
    memoriesPerCharacter: number;
  },
): Promise<{ characters: TaskCharacter[]; recalledMemoryIds: string[] }> {
  // One statement: the characters at the head, who was present lately, and how each stands with the player.
  const [known, presence, relations] = await readTogether(db, [
    charactersAtRead(input.storyId, input.headSceneId),
    {
      sql: `SELECT sc.character_id, max(s.scene_number) AS last_seen, max(sc.importance) AS importance
         FROM scene_characters sc JOIN scenes s ON s.story_id = sc.story_id AND s.id = sc.scene_id
        WHERE sc.story_id = $1 AND sc.scene_id = ANY($2::uuid[]) AND sc.role = 'present'
        GROUP BY sc.character_id`,
      params: [input.storyId, input.recentScenes.map((scene) => scene.id)],
      decode: (rows: { character_id: string; last_seen: number; importance: number }[]) => rows,
    },
    relationshipsAtRead(input.storyId, input.headSceneId, { playerOnly: true }),
  ]);
  const seen = new Map(presence.map((row) => [row.character_id, row]));
  const asked = normaliseWords(input.queryText);
  const recentText = normaliseWords(input.recentScenes.map((scene) => scene.content).join(' '));
  const ranked = known
    .map((character) => {
      const aliases = characterAliases(character);
      const named = aliases.some((alias) => asked.includes(` ${alias} `));
      const present = seen.get(character.id);
      const mentioned = aliases.some((alias) => recentText.includes(` ${alias} `));
      // Named by the player > present lately (newest, most central first) > named in the prose.
      const score = (named ? 1_000_000 : 0) + (present ? 1_000 + present.last_seen + present.importance : 0) + (mentioned ? 1 : 0);
      return { character, score };
    })
    .filter((entry) => entry.score > 0)
    .sort((a, b) => b.score - a.score || a.character.name.localeCompare(b.character.name))
    .slice(0, input.maxCharacters);
  const trustOf = new Map(relations.map((r) => [r.characterId, r]));
  const memoriesOf = await retrieveMemoriesOfCharacters(db, {
    storyId: input.storyId,
    characterIds: ranked.map(({ character }) => character.id),
    ...(input.queryEmbedding ? { queryEmbedding: input.queryEmbedding } : {}),
    headSceneId: input.headSceneId,
    pathSceneIds: input.pathSceneIds,
    limit: input.memoriesPerCharacter,
    touch: false,
  });
  const recalledMemoryIds = [...memoriesOf.values()].flatMap((memories) => memories.map((memory) => memory.id));
  const characters = ranked.map(({ character: row }) => {
    const memories = memoriesOf.get(row.id) ?? [];
    const character: TaskCharacter = { name: row.name, mood: row.mood, memories: memories.map((memory) => memory.content) };
    if (row.description) character.description = row.description;
    if (row.personality) character.personality = row.personality;
    // A card's scenario is kept as the character's background; it travels with them.
    if (row.background) character.scenario = row.background;
    const relation = trustOf.get(row.id);
    if (relation) {
      character.trust = relation.trust;
      character.sentiment = relation.sentiment;
    }
    return character;
  });
  return { characters, recalledMemoryIds };
}

/** Lower-case words separated by single spaces, padded, so ` alias ` finds whole words only. */
function normaliseWords(text: string): string {
  return ` ${text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim()} `;
}

/** The names a character answers to: the full name, nicknames (a card's, the metadata's), the first name. */
export function characterAliases(character: { name: string; metadata: Record<string, unknown> }): string[] {
  const names = [character.name];
  const metadata = character.metadata ?? {};
  const card = (metadata['character_card'] as { data?: Record<string, unknown> } | undefined)?.data;
  for (const value of [metadata['nickname'], card?.['nickname'], ...(Array.isArray(metadata['aliases']) ? metadata['aliases'] : [])]) {
    if (typeof value === 'string' && value.trim()) names.push(value);
  }
  const first = character.name.trim().split(/\s+/)[0] ?? '';
  if (first.length >= 3 && first !== character.name.trim()) names.push(first);
  return [...new Set(names.map((name) => normaliseWords(name).trim()).filter((alias) => alias.length > 0))];
}
