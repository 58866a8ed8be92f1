import { renumberParameters, type Queryable } from '../db/index.js';
import { loadPathSceneIds, onPathSql, pathParam } from '../world/scene-path.js';
import { toCharacterMemory, touchCharacterMemoriesSql, type CharacterMemory, type CharacterMemoryKind, type CharacterMemoryRow } from './memory-repo.js';
import { loadVectorStore } from './vector-store.js';

/**
 * Generative Agents (Park et al. 2023, §4.1, paper version): score = w_recency·recency +
 * w_importance·importance + w_relevance·relevance, each term min-max normalised over the
 * candidates. The paper sets every weight to 1.
 */
export interface RetrievalWeights {
  recency: number;
  importance: number;
  relevance: number;
}

export const defaultRetrievalWeights: Readonly<RetrievalWeights> = Object.freeze({ recency: 1, importance: 1, relevance: 1 });

/** Recency = decay^(hours since the memory was last retrieved); the paper's 0.995 per game hour. */
export const defaultRecencyDecayPerHour = 0.995;

/** How many nearest and most recently accessed memories are ranked. */
export const defaultCandidateCounts = Object.freeze({ nearest: 200, recent: 50 });

export interface MemoryCandidate {
  id: string;
  importance: number;
  /** Cosine similarity to the query, -1..1 (0 when the memory has no embedding). */
  similarity: number;
  hoursSinceAccess: number;
}

export interface RankedScore {
  score: number;
  recency: number;
  importance: number;
  relevance: number;
}

/**
 * Spreads below this are noise (memories written by one turn differ by milliseconds), which
 * min-max normalisation would otherwise blow up to the full 0..1 range.
 */
const negligibleSpread = 1e-3;

function minMax(values: number[]): (value: number) => number {
  const min = Math.min(...values);
  const max = Math.max(...values);
  // (Nearly) all equal: the term cannot tell candidates apart, so it adds nothing.
  return max - min < negligibleSpread ? () => 0 : (value) => (value - min) / (max - min);
}

/** Scores candidates (pure: no database), best first. */
export function rankMemories<C extends MemoryCandidate>(
  candidates: C[],
  options: { weights?: Partial<RetrievalWeights>; decayPerHour?: number } = {},
): (C & { ranking: RankedScore })[] {
  if (candidates.length === 0) return [];
  const weights = { ...defaultRetrievalWeights, ...options.weights };
  const decay = options.decayPerHour ?? defaultRecencyDecayPerHour;
  const recencies = candidates.map((c) => decay ** Math.max(0, c.hoursSinceAccess));
  const normRecency = minMax(recencies);
  const normImportance = minMax(candidates.map((c) => c.importance));
  const normRelevance = minMax(candidates.map((c) => c.similarity));
  return candidates
    .map((candidate, i) => {
      const recency = normRecency(recencies[i]!);
      const importance = normImportance(candidate.importance);
      const relevance = normRelevance(candidate.similarity);
      const score = weights.recency * recency + weights.importance * importance + weights.relevance * relevance;
      return { ...candidate, ranking: { score, recency, importance, relevance } };
    })
    .sort((a, b) => b.ranking.score - a.ranking.score || (a.id < b.id ? -1 : 1));
}

export interface RetrieveMemoriesInput {
  storyId: string;
  characterId: string;
  /** Absent when the embedder is down: candidates are then the most recently accessed only. */
  queryEmbedding?: number[];
  limit?: number;
  weights?: Partial<RetrievalWeights>;
  decayPerHour?: number;
  candidates?: { nearest?: number; recent?: number };
  /** Only memories of scenes on this scene's path (and memories of no scene). */
  headSceneId?: string;
  /** That path's scene ids when the caller has loaded it already (loadPath), so it is not walked again. */
  pathSceneIds?: readonly string[];
  kinds?: CharacterMemoryKind[];
  /**
   * Set last_accessed_at of the returned memories (default true, as in the paper). A turn
   * passes false and has its commit touch them (recalledMemoryIds), in a statement it sends anyway.
   */
  touch?: boolean;
}

export type RetrievedMemory = CharacterMemory & { ranking: RankedScore; similarity: number };

/**
 * What ranking needs of a candidate. Hundreds are ranked per turn (nearest and most recent of
 * each character) and a few kept: their content and the rest are read afterwards, for those
 * few only. Sent whole, the candidates were three quarters of the values a turn read back
 * (50 kB at 15 scenes), and on the embedded database each value costs a copy and a decode.
 */
const candidateColumns = `m.id, m.character_id, m.importance, (extract(epoch FROM now() - m.last_accessed_at) / 3600)::float8 AS hours_since_access`;

const memoryColumns = 'id, character_id, scene_id, kind, content, emotional_valence, importance, last_accessed_at, created_at';

interface CandidateRow {
  id: string;
  character_id: string;
  importance: number;
  hours_since_access: number | string;
  similarity: number | string | null;
}

/** The path filter's parameter (pathParam): the caller's ids, or one walk of the tree; null when not scoped to a path. */
async function pathFilterFor(db: Queryable, storyId: string, input: { headSceneId?: string; pathSceneIds?: readonly string[] }): Promise<string | null> {
  if (input.pathSceneIds) return pathParam(input.pathSceneIds);
  return input.headSceneId === undefined ? null : pathParam(await loadPathSceneIds(db, storyId, input.headSceneId));
}

/**
 * One character's memories most worth recalling for the query; never another character's.
 * Candidates are the nearest by embedding plus the most recently accessed, ranked in process.
 */
export async function retrieveMemories(db: Queryable, input: RetrieveMemoriesInput): Promise<RetrievedMemory[]> {
  const { characterId, ...rest } = input;
  return (await retrieveMemoriesOfCharacters(db, { ...rest, characterIds: [characterId] })).get(characterId) ?? [];
}

/**
 * retrieveMemories for several characters at once, each ranked among its own memories only:
 * the candidates of all of them in one statement (a lateral nearest and most-recent query per
 * character) and one touch, so a turn with six characters costs two round trips, not twelve.
 */
export async function retrieveMemoriesOfCharacters(
  db: Queryable,
  input: Omit<RetrieveMemoriesInput, 'characterId'> & { characterIds: readonly string[] },
): Promise<Map<string, RetrievedMemory[]>> {
  const result = new Map<string, RetrievedMemory[]>();
  const characterIds = [...new Set(input.characterIds)];
  if (characterIds.length === 0) return result;
  const store = await loadVectorStore(db);
  const pathFilter = await pathFilterFor(db, input.storyId, input);
  // Only the filters in use are in the text: with `$n IS NULL OR …` for the others, a generic
  // plan looked dearer than one made for the values, and the statement was planned every time.
  const params: unknown[] = [input.storyId, [...characterIds]];
  const conditions = ['m.story_id = $1', 'm.character_id = who.character_id'];
  if (input.kinds) {
    params.push(input.kinds);
    conditions.push(`m.kind = ANY($${params.length}::text[])`);
  }
  if (pathFilter !== null) {
    params.push(pathFilter);
    conditions.push(`(m.scene_id IS NULL OR ${onPathSql('m.scene_id', `$${params.length}`)})`);
  }
  const scope = conditions.join(' AND ');
  // The characters, one row each. The LIMIT (their count) tells a generic plan how many there
  // are, where it would assume ten for unnest of a parameter and look dearer than a plan made
  // for the values: PostgreSQL then planned the statement on every turn (0.45 ms on the server,
  // pg_stat_statements; on PGlite the statement took 0.7 ms longer).
  const who = `(SELECT unnest($2::uuid[]) LIMIT ${characterIds.length}) AS who(character_id)`;
  const nearestCount = Math.max(1, Math.trunc(input.candidates?.nearest ?? defaultCandidateCounts.nearest));
  const recentCount = Math.max(1, Math.trunc(input.candidates?.recent ?? defaultCandidateCounts.recent));
  const recentOnes = (similarity: string) => `
    SELECT ${candidateColumns}, ${similarity} AS similarity
    FROM character_memories m
    WHERE ${scope}
    ORDER BY m.last_accessed_at DESC
    LIMIT ${recentCount}`;
  let rows: CandidateRow[];
  if (input.queryEmbedding === undefined) {
    // No query embedding (the embedder is down): recency and importance alone rank.
    ({ rows } = await db.query<CandidateRow>(
      `SELECT candidate.* FROM ${who} CROSS JOIN LATERAL (${recentOnes('NULL::float8')}) AS candidate`,
      params,
    ));
  } else {
    const dimension = input.queryEmbedding.length;
    const nearest = store.nearestSql({
      table: 'character_memories',
      from: 'character_memories m',
      column: 'm.embedding',
      select: candidateColumns,
      where: scope,
      params,
      queryEmbedding: input.queryEmbedding,
      dimension,
      limit: nearestCount,
    });
    const queryParam = `$${params.length + 1}`;
    // A memory both near and recent is sent once (the same row, scored by the same
    // expression): a character with fewer memories than the nearest count has every recent
    // one among its nearest, and at 2,000 scenes that was some 300 rows of 680 sent twice.
    // One scan with both lists taken by window ranks reads a small character's memories once,
    // but its two full sorts made this read half again as slow at 10,000 memories of one
    // character (bench/retrieval.ts, server) than the bounded top-N sort and the index-ordered
    // recent read here.
    ({ rows } = await db.query<CandidateRow>(
      `SELECT DISTINCT ON (candidate.character_id, candidate.id) candidate.* FROM (
         SELECT candidate.* FROM ${who}
           CROSS JOIN LATERAL (${nearest.sql}) AS candidate
         UNION ALL
         SELECT candidate.* FROM ${who}
           CROSS JOIN LATERAL (${recentOnes(store.similarityOrNullSql('m.embedding', queryParam, dimension))}) AS candidate
       ) AS candidate`,
      nearest.params,
    ));
  }
  const byCharacter = new Map<string, Map<string, CandidateRow>>(characterIds.map((id) => [id, new Map()]));
  for (const row of rows) byCharacter.get(row.character_id)?.set(row.id, row);
  const rankedOf = new Map<string, { id: string; similarity: number; ranking: RankedScore }[]>();
  for (const [characterId, byId] of byCharacter) {
    const candidates = [...byId.values()].map((row) => ({
      id: row.id,
      importance: row.importance,
      similarity: row.similarity === null ? 0 : Number(row.similarity),
      hoursSinceAccess: Number(row.hours_since_access),
    }));
    const ranked = rankMemories(candidates, {
      ...(input.weights === undefined ? {} : { weights: input.weights }),
      ...(input.decayPerHour === undefined ? {} : { decayPerHour: input.decayPerHour }),
    }).slice(0, input.limit ?? 5);
    rankedOf.set(characterId, ranked);
  }
  const touched = [...rankedOf.values()].flatMap((ranked) => ranked.map((memory) => memory.id));
  const { rows: recalled } =
    touched.length === 0
      ? { rows: [] }
      : await db.query<CharacterMemoryRow>(`SELECT ${memoryColumns} FROM character_memories WHERE story_id = $1 AND id = ANY($2::uuid[])`, [input.storyId, touched]);
  const recalledById = new Map(recalled.map((row) => [row.id, toCharacterMemory(row)]));
  for (const [characterId, ranked] of rankedOf) {
    result.set(
      characterId,
      ranked.flatMap(({ id, similarity, ranking }) => {
        const memory = recalledById.get(id);
        return memory ? [{ ...memory, similarity, ranking }] : [];
      }),
    );
  }
  if ((input.touch ?? true) && touched.length > 0) {
    await db.query(touchCharacterMemoriesSql('$1', '$2'), [input.storyId, touched]);
  }
  return result;
}

/** A read of rows on one scene's path: the path's ids when loaded already, else the scene to walk from. */
export interface PathScopedQuery {
  storyId: string;
  headSceneId: string;
  pathSceneIds?: readonly string[];
  queryEmbedding: number[];
  limit?: number;
  minSimilarity?: number;
}

export interface SimilarScene {
  id: string;
  sceneNumber: number;
  content: string;
  similarity: number;
}

export interface RelevantText {
  id: string;
  content: string;
  similarity: number;
  sceneNumber: number | null;
}

/**
 * One nearest-neighbour read of texts (scenes, story memories, instructions), sent alone or
 * with others in one statement (searchTogether). Its SQL returns id, content, scene_number and
 * similarity, most similar first.
 */
export interface TextSearch {
  sql: string;
  params: unknown[];
  minSimilarity: number;
}

interface TextSearchRow {
  search?: number;
  id: string;
  content: string;
  scene_number: number | null;
  similarity: number | string;
}

async function textSearch(
  db: Queryable,
  input: PathScopedQuery,
  shape: { table: 'scenes' | 'memories' | 'user_instructions'; from: string; column: string; select: string; where: string; params: unknown[]; limit: number },
): Promise<TextSearch> {
  const store = await loadVectorStore(db);
  const query = store.nearestSql({ ...shape, queryEmbedding: input.queryEmbedding, dimension: input.queryEmbedding.length, limit: input.limit ?? shape.limit });
  return {
    sql: `SELECT found.id, found.content, found.scene_number::int AS scene_number, found.similarity::float8 AS similarity FROM (${query.sql}) AS found`,
    params: query.params,
    minSimilarity: input.minSimilarity ?? -1,
  };
}

/** Earlier scenes of the head path, outside the recent window, closest in meaning to the query. */
export async function similarScenesSearch(db: Queryable, input: PathScopedQuery & { beforeSceneNumber: number }): Promise<TextSearch> {
  return textSearch(db, input, {
    table: 'scenes',
    from: 'scenes s',
    column: 's.embedding',
    select: 's.id, s.content, s.scene_number',
    where: `s.story_id = $1 AND s.scene_number < $3 AND ${onPathSql('s.id', '$2')}`,
    params: [input.storyId, await pathFilterFor(db, input.storyId, input), input.beforeSceneNumber],
    limit: 3,
  });
}

/** The player's earlier parenthetical instructions on the head path, closest to the query. */
export async function relevantInstructionsSearch(db: Queryable, input: PathScopedQuery): Promise<TextSearch> {
  return textSearch(db, input, {
    table: 'user_instructions',
    from: 'user_instructions i JOIN scenes p ON p.story_id = i.story_id AND p.id = i.scene_id',
    column: 'i.embedding',
    select: 'i.id, i.content, p.scene_number',
    where: `i.story_id = $1 AND ${onPathSql('i.scene_id', '$2')}`,
    params: [input.storyId, await pathFilterFor(db, input.storyId, input)],
    limit: 3,
  });
}

/** Story-wide memories (scene digests, facts) of the head path before a scene number, closest to the query. */
export async function relevantStoryMemoriesSearch(db: Queryable, input: PathScopedQuery & { beforeSceneNumber: number }): Promise<TextSearch> {
  return textSearch(db, input, {
    table: 'memories',
    from: 'memories m',
    column: 'm.embedding',
    select: 'm.id, m.content, m.through_scene_number AS scene_number',
    where: `m.story_id = $1 AND m.kind IN ('scene', 'fact')
      AND (m.scene_id IS NULL OR (${onPathSql('m.scene_id', '$2')} AND m.through_scene_number < $3))`,
    params: [input.storyId, await pathFilterFor(db, input.storyId, input), input.beforeSceneNumber],
    limit: 5,
  });
}

function textsFound(rows: TextSearchRow[], search: TextSearch): RelevantText[] {
  return rows
    .map((row) => ({ id: row.id, content: row.content, sceneNumber: row.scene_number, similarity: Number(row.similarity) }))
    .filter((row) => row.similarity >= search.minSimilarity)
    .sort((a, b) => b.similarity - a.similarity);
}

/**
 * Several searches in one statement (a turn's context asks three), each answered as if it had
 * been sent alone: its rows, most similar first, above its minimum similarity.
 */
export async function searchTogether(db: Queryable, searches: readonly TextSearch[]): Promise<RelevantText[][]> {
  if (searches.length === 0) return [];
  const params: unknown[] = [];
  const branches = searches.map((search, i) => {
    const sql = renumberParameters(search.sql, params.length);
    params.push(...search.params);
    return `SELECT ${i} AS search, searched.* FROM (${sql}) AS searched`;
  });
  const { rows } = await db.query<TextSearchRow>(branches.join('\nUNION ALL\n'), params);
  return searches.map((search, i) => textsFound(rows.filter((row) => Number(row.search) === i), search));
}

export async function findSimilarScenes(db: Queryable, input: PathScopedQuery & { beforeSceneNumber: number }): Promise<SimilarScene[]> {
  const [found = []] = await searchTogether(db, [await similarScenesSearch(db, input)]);
  return found.map((scene) => ({ id: scene.id, sceneNumber: scene.sceneNumber ?? 0, content: scene.content, similarity: scene.similarity }));
}
