import type { Database, Queryable } from '../db/index.js';
import { AppError } from '../errors.js';
import { estimateTokens } from '../llm/token-count.js';
import type { TaskCharacter } from '../llm/provider.js';
import type { Embedder } from './embedder.js';
import { ensureEmbeddingSettings } from './embedding-settings.js';
import { loadRecentScenes } from './head-path.js';
import { matchLore } from './lore-repo.js';
import { digestScene } from './prepare-scene-memories.js';
import { findRelevantInstructions, findRelevantStoryMemories, findSimilarScenes, retrieveMemories } from './retrieve-memories.js';
import { loadLatestSummary } from './summarise.js';

export interface TurnContext {
  /** The newest scenes of the head path, oldest first. */
  recentScenes: { sceneNumber: number; content: string }[];
  /** Rolling summary of the scenes before the window. */
  summary?: string;
  /** Story-wide memories (scene digests, facts) relevant to the query. */
  memories: string[];
  lore: string[];
  similarScenes: string[];
  /** The player's earlier instructions relevant to the query. */
  instructions: string[];
  /** Characters present in the recent scenes, each with only its own memories. */
  characters: TaskCharacter[];
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
  /** Characters included at most, most recently present first. */
  maxCharacters?: number;
  memoriesPerCharacter?: number;
}

export { estimateTokens };

/** Counts the tokens of a text: a model's tokenizer, or the conservative estimate. */
export type CountTokens = (text: string) => number;

function characterTokens(character: TaskCharacter, count: CountTokens): number {
  return count(
    [character.name, character.description, character.personality, character.mood, ...(character.memories ?? [])].filter(Boolean).join(' '),
  ) + 8;
}

export function estimateContextTokens(context: Omit<TurnContext, 'estimatedTokens'>, count: CountTokens = estimateTokens): number {
  let tokens = 0;
  for (const scene of context.recentScenes) tokens += count(scene.content) + 4;
  if (context.summary) tokens += count(context.summary);
  for (const list of [context.memories, context.lore, context.similarScenes, context.instructions]) {
    for (const item of list) tokens += count(item) + 2;
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
  if (input.headSceneId === null) {
    return { recentScenes: [], memories: [], lore: [], similarScenes: [], instructions: [], characters: [], estimatedTokens: 0 };
  }
  const headSceneId = input.headSceneId;

  const recent = await loadRecentScenes(db, input.storyId, headSceneId, recentWindow);
  const head = recent.at(-1);
  if (!head) throw new AppError('not_found', `No scene ${headSceneId} in story ${input.storyId}.`);
  const windowStart = recent[0]!.sceneNumber;
  const queryText = input.queryText?.trim() || head.content;
  const [queryEmbedding] = await embedder.embed([queryText]);
  if (!queryEmbedding) throw new AppError('internal', 'The embedder returned no vector.');

  const scope = { storyId: input.storyId, headSceneId, queryEmbedding };
  const recentText = [...recent.map((scene) => scene.content), queryText].join('\n');
  // Independent reads: on a server pool they run side by side (PGlite queues them anyway).
  const [summary, storyMemories, similar, instructions, lore, characters] = await Promise.all([
    loadLatestSummary(db, input.storyId, { atMostThrough: windowStart - 1 }),
    findRelevantStoryMemories(db, { ...scope, beforeSceneNumber: windowStart, limit: 5, minSimilarity: 0.1 }),
    findSimilarScenes(db, { ...scope, beforeSceneNumber: windowStart, limit: 2, minSimilarity: 0.2 }),
    findRelevantInstructions(db, { ...scope, limit: 3, minSimilarity: 0.1 }),
    matchLore(db, { storyId: input.storyId, recentText, queryEmbedding, limit: 5 }),
    loadContextCharacters(db, {
      ...scope,
      recentSceneIds: recent.map((scene) => scene.id),
      maxCharacters: input.maxCharacters ?? 6,
      memoriesPerCharacter: input.memoriesPerCharacter ?? 3,
    }),
  ]);

  const context: Omit<TurnContext, 'estimatedTokens'> = {
    recentScenes: recent.map((scene) => ({ sceneNumber: scene.sceneNumber, content: scene.content })),
    ...(summary ? { summary: summary.content } : {}),
    memories: storyMemories.map((memory) => memory.content),
    lore: lore.map((match) => `${match.entry.title}: ${match.entry.content}`),
    similarScenes: similar.map((scene) => `Scene ${scene.sceneNumber}: ${digestScene(scene.content, 600)}`),
    instructions: instructions.map((instruction) => instruction.content),
    characters,
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
    memories: [...context.memories],
    lore: [...context.lore],
    similarScenes: [...context.similarScenes],
    instructions: [...context.instructions],
    characters: context.characters.map((character) => ({ ...character, ...(character.memories ? { memories: [...character.memories] } : {}) })),
  };
}

interface ContextCharacterRow {
  id: string;
  name: string;
  description: string;
  personality: string;
  mood: string;
  trust: number | null;
  sentiment: number | null;
}

async function loadContextCharacters(
  db: Queryable,
  input: {
    storyId: string;
    headSceneId: string;
    queryEmbedding: number[];
    recentSceneIds: string[];
    maxCharacters: number;
    memoriesPerCharacter: number;
  },
): Promise<TaskCharacter[]> {
  const { rows } = await db.query<ContextCharacterRow>(
    `SELECT c.id, c.name, c.description, c.personality, c.mood, r.trust, r.sentiment
     FROM (
       SELECT sc.character_id, max(s.scene_number) AS last_seen, max(sc.importance) AS importance
       FROM scene_characters sc JOIN scenes s ON s.story_id = sc.story_id AND s.id = sc.scene_id
       WHERE sc.story_id = $1 AND sc.scene_id = ANY($2::uuid[]) AND sc.role = 'present'
       GROUP BY sc.character_id
     ) seen
     JOIN characters c ON c.story_id = $1 AND c.id = seen.character_id
     LEFT JOIN character_relationships r ON r.story_id = $1 AND r.character_id = c.id AND r.target_character_id IS NULL
     ORDER BY seen.last_seen DESC, seen.importance DESC, c.name
     LIMIT $3`,
    [input.storyId, input.recentSceneIds, input.maxCharacters],
  );
  return Promise.all(
    rows.map(async (row) => {
      const memories = await retrieveMemories(db, {
        storyId: input.storyId,
        characterId: row.id,
        queryEmbedding: input.queryEmbedding,
        headSceneId: input.headSceneId,
        limit: input.memoriesPerCharacter,
      });
      const character: TaskCharacter = { name: row.name, mood: row.mood, memories: memories.map((memory) => memory.content) };
      if (row.description) character.description = row.description;
      if (row.personality) character.personality = row.personality;
      if (row.trust !== null) character.trust = row.trust;
      if (row.sentiment !== null) character.sentiment = row.sentiment;
      return character;
    }),
  );
}
