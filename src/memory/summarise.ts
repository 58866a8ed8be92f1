import { readTogether, type Queryable, type SharedRead } from '../db/index.js';
import { loadPath, onPathSql, pathParam, type LoadedPath } from '../world/scene-path.js';
import { insertStoryMemory, type NewStoryMemory } from './memory-repo.js';
import type { Embedder } from './embedder.js';
import { embedOrDefer } from './embedding-backfill.js';
import { getLogger } from '../logger.js';

/**
 * The rolling summary: scenes that have left the recent window are folded into one
 * `memories` row of kind 'summary' (`through_scene_number` says how far it reaches), stored
 * against the scene it was made at. With a model, a background job writes it (see
 * summary-job.ts); offline, and as the fallback, the turn lifts sentences itself.
 */
export interface SummaryPlan {
  needed: boolean;
  previousSummary?: string;
  /** Scenes covered by the current summary (0 if none). */
  coveredThrough: number;
  /** The scenes to fold in next: after `coveredThrough`, up to the window's start (head path only). */
  scenesToAdd: { sceneNumber: number; content: string }[];
  throughSceneNumber: number;
}

export interface SummaryOptions {
  recentWindow?: number;
  /** Wait until this many scenes have left the window before spending a summary call. */
  minNewScenes?: number;
  /** Fold at most this many scenes per update, so one call stays small. */
  maxScenesPerUpdate?: number;
}

/** A rolling summary as read back: its text, how far it reaches, the scene it was made at. */
export interface StoredSummary {
  content: string;
  throughSceneNumber: number;
  sceneId: string;
}

/**
 * The newest summaries on a path that reach at most `atMostThrough`, newest first, at most two:
 * what one read answers for two thresholds (see newestSummaryFrom). The turn's context reads
 * them for its own threshold plus one, which is the threshold of the summary update after the
 * scene, so that update need not read them again.
 */
export interface NewestSummaries {
  atMostThrough: number;
  newest: StoredSummary[];
}

const newestSummariesCount = 2;

/**
 * The newest summary made along the path to `headSceneId` (a summary belongs to the scene it
 * was made at, so one made on another branch is never seen), reaching at most `atMostThrough`.
 * The path's ids come from `loadPath` unless given: a story's summaries are few, so they are
 * read by story and kept if on the path rather than walking every ancestor.
 */
export async function loadLatestSummary(
  db: Queryable,
  storyId: string,
  options: { headSceneId: string; atMostThrough?: number; pathSceneIds?: readonly string[] },
): Promise<StoredSummary | undefined> {
  return (await readNewestSummaries(db, storyId, options, 1))[0];
}

/** loadLatestSummary's two newest (NewestSummaries), for `atMostThrough`. */
export async function loadNewestSummaries(
  db: Queryable,
  storyId: string,
  options: { headSceneId: string; atMostThrough: number; pathSceneIds?: readonly string[] },
): Promise<NewestSummaries> {
  const pathSceneIds = options.pathSceneIds ?? (await loadPath(db, storyId, options.headSceneId, 0)).ids;
  const [summaries] = await readTogether(db, [newestSummariesRead(storyId, { atMostThrough: options.atMostThrough, pathSceneIds })]);
  return summaries;
}

/** loadNewestSummaries as a read that may share a statement with others (a turn's context). */
export function newestSummariesRead(storyId: string, options: { atMostThrough: number; pathSceneIds: readonly string[] }): SharedRead<NewestSummaries, SummaryRow> {
  return {
    ...summariesSql(storyId, options, newestSummariesCount),
    decode: (rows) => ({ atMostThrough: options.atMostThrough, newest: rows.map(toStoredSummary) }),
  };
}

/**
 * The newest summary reaching at most `atMostThrough` as the read `known` tells it: known when
 * `atMostThrough` is the read's threshold, or one below it and the two newest do not both reach
 * exactly the read's threshold; undefined (no such summary) or 'unknown' (read it).
 */
export function newestSummaryFrom(known: NewestSummaries, atMostThrough: number): StoredSummary | undefined | 'unknown' {
  if (atMostThrough === known.atMostThrough) return known.newest[0];
  if (atMostThrough !== known.atMostThrough - 1) return 'unknown';
  const below = known.newest.find((summary) => summary.throughSceneNumber <= atMostThrough);
  if (below) return below;
  return known.newest.length < newestSummariesCount ? undefined : 'unknown';
}

interface SummaryRow {
  content: string;
  through_scene_number: number;
  scene_id: string;
}

const toStoredSummary = (row: SummaryRow): StoredSummary => ({ content: row.content, throughSceneNumber: row.through_scene_number, sceneId: row.scene_id });

function summariesSql(storyId: string, options: { atMostThrough?: number; pathSceneIds: readonly string[] }, limit: number): { sql: string; params: unknown[] } {
  return {
    sql: `SELECT m.content, m.through_scene_number, m.scene_id
       FROM memories m JOIN scenes s ON s.story_id = m.story_id AND s.id = m.scene_id
      WHERE m.story_id = $1 AND m.kind = 'summary' AND ${onPathSql('m.scene_id', '$2')}
        AND ($3::int IS NULL OR m.through_scene_number <= $3)
      ORDER BY m.through_scene_number DESC, s.scene_number DESC LIMIT ${limit}`,
    params: [storyId, pathParam(options.pathSceneIds), options.atMostThrough ?? null],
  };
}

async function readNewestSummaries(
  db: Queryable,
  storyId: string,
  options: { headSceneId: string; atMostThrough?: number; pathSceneIds?: readonly string[] },
  limit: number,
): Promise<StoredSummary[]> {
  const pathSceneIds = options.pathSceneIds ?? (await loadPath(db, storyId, options.headSceneId, 0)).ids;
  const { sql, params } = summariesSql(storyId, { ...options, pathSceneIds }, limit);
  const { rows } = await db.query<SummaryRow>(sql, params);
  return rows.map(toStoredSummary);
}

/**
 * Whether scenes older than the recent window of a scene numbered `headSceneNumber` (whose
 * path runs through `pathSceneId`) are not yet covered by the newest summary on that path.
 */
export async function planSummaryUpdate(
  db: Queryable,
  storyId: string,
  headSceneNumber: number,
  options: SummaryOptions & { pathSceneId: string; path?: LoadedPath; summaries?: NewestSummaries },
): Promise<SummaryPlan> {
  const window = options.recentWindow ?? 4;
  const windowStart = headSceneNumber - window + 1;
  // The turn has walked this path already for its context: its ids and newest scenes serve
  // here too, and so may the summaries its context read.
  const path = options.path ?? (await loadPath(db, storyId, options.pathSceneId, 0));
  const pathIds = path.ids;
  const fromContext = options.summaries ? newestSummaryFrom(options.summaries, windowStart - 1) : 'unknown';
  const latest =
    fromContext === 'unknown'
      ? await loadLatestSummary(db, storyId, { headSceneId: options.pathSceneId, atMostThrough: windowStart - 1, pathSceneIds: pathIds })
      : fromContext;
  const coveredThrough = latest?.throughSceneNumber ?? 0;
  const uncovered = windowStart - 1 - coveredThrough;
  const base = { coveredThrough, ...(latest ? { previousSummary: latest.content } : {}) };
  if (uncovered < (options.minNewScenes ?? 1)) {
    return { needed: false, ...base, scenesToAdd: [], throughSceneNumber: coveredThrough };
  }
  const through = Math.min(windowStart - 1, coveredThrough + (options.maxScenesPerUpdate ?? 20));
  // scene_number is the depth (a CHECK of migrations/0001), so scenes coveredThrough+1..through
  // of the path are these ids; only their text is read.
  const wanted = pathIds.slice(coveredThrough, through);
  const known = new Map(path.recent.map((scene) => [scene.id, scene]));
  const rows = wanted.every((id) => known.has(id))
    ? wanted.map((id) => ({ scene_number: known.get(id)!.sceneNumber, content: known.get(id)!.content }))
    : (
        await db.query<{ scene_number: number; content: string }>(
          `SELECT scene_number, content FROM scenes WHERE story_id = $1 AND id = ANY($2::uuid[]) ORDER BY scene_number`,
          [storyId, wanted],
        )
      ).rows;
  return {
    needed: rows.length > 0,
    ...base,
    scenesToAdd: rows.map((row) => ({ sceneNumber: row.scene_number, content: row.content })),
    throughSceneNumber: rows.at(-1)?.scene_number ?? coveredThrough,
  };
}

/**
 * Stores the rolling summary made at `sceneId` (at most one per scene, by a unique index);
 * older ones stay as history. Embedding computed beforehand.
 */
export async function storeSummary(
  db: Queryable,
  input: { storyId: string; sceneId: string; content: string; throughSceneNumber: number; embedding: number[] | null },
): Promise<string> {
  return insertStoryMemory(db, summaryMemory(input));
}

/** The memories row of a summary made at `sceneId` (see storeSummary). */
export function summaryMemory(input: { storyId: string; sceneId: string; content: string; throughSceneNumber: number; embedding: number[] | null }): NewStoryMemory {
  return {
    storyId: input.storyId,
    kind: 'summary',
    sceneId: input.sceneId,
    throughSceneNumber: input.throughSceneNumber,
    content: input.content.slice(0, 20000),
    importance: 1,
    embedding: input.embedding,
  };
}

function sentencesOf(text: string): string[] {
  return (text.replace(/\s+/g, ' ').trim().match(/[^.!?]+[.!?]+["'”’)]*|[^.!?]+$/g) ?? []).map((s) => s.trim()).filter(Boolean);
}

/**
 * A deterministic extractive summary, for when no model call should be spent: the previous
 * summary plus the first sentence of each new scene. When it grows past `maxChars`, the
 * oldest lines are thinned (every other one dropped) rather than cut, so the story's
 * beginning stays represented.
 */
export function summariseScenesLocally(
  previousSummary: string | undefined,
  scenes: { sceneNumber: number; content: string }[],
  maxChars = 2000,
): string {
  const lines = (previousSummary ?? '').split('\n').filter((line) => line.trim() !== '');
  for (const scene of scenes) {
    const first = sentencesOf(scene.content)[0];
    if (!first) continue;
    lines.push(`Scene ${scene.sceneNumber}: ${first.length > 240 ? `${first.slice(0, 239)}…` : first}`);
  }
  const length = () => lines.reduce((sum, line) => sum + line.length + 1, 0);
  // Keep the first line (how the story began) and the newest; thin the middle.
  while (length() > maxChars && lines.length > 2) {
    const middle = lines.slice(1, -1);
    if (middle.length === 0) break;
    const thinned = middle.filter((_, i) => i % 2 === 1);
    lines.splice(1, middle.length, ...thinned);
  }
  let summary = lines.join('\n');
  if (summary.length > maxChars) summary = summary.slice(0, maxChars);
  return summary;
}

export interface PreparedSummary {
  content: string;
  throughSceneNumber: number;
  /** null: the embedder was down (back-filled later). */
  embedding: number[] | null;
}

/**
 * Before a turn commits (no transaction open): the rolling summary the new scene calls for,
 * if any. It is extractive, so a turn still costs one model call; `storeSummary` writes it in
 * the turn's transaction.
 */
export async function prepareSummaryUpdate(
  db: Queryable,
  embedder: Embedder,
  input: { storyId: string; newSceneNumber: number; parentSceneId: string | null; parentPath?: LoadedPath; summaries?: NewestSummaries },
): Promise<PreparedSummary | undefined> {
  if (input.parentSceneId === null) return undefined;
  const plan = await planSummaryUpdate(db, input.storyId, input.newSceneNumber, {
    pathSceneId: input.parentSceneId,
    ...(input.parentPath ? { path: input.parentPath } : {}),
    ...(input.summaries ? { summaries: input.summaries } : {}),
  });
  if (!plan.needed) return undefined;
  const content = summariseScenesLocally(plan.previousSummary, plan.scenesToAdd);
  const [embedding] = (await embedOrDefer(embedder, [content], getLogger().child({ storyId: input.storyId }), 'turn')) ?? [];
  return { content, throughSceneNumber: plan.throughSceneNumber, embedding: embedding ?? null };
}
