import { readTogether, runStatementParts, statementPart, type Queryable, type SharedRead, type StatementPart } from '../db/index.js';
import { loadPath, onPathSql, pathParam } from './scene-path.js';

/**
 * Story facts: what the storyteller reports as now true (a possession, an injury, a promise,
 * a place found, an open question) or no longer true. Each is recorded at the scene that
 * reported it; the facts at a scene are those records folded along its path, so a branch
 * never sees what happened only on another (invariant 7).
 */
export const storyFactTypes = ['possession', 'injury', 'promise', 'place', 'question'] as const;
export type StoryFactType = (typeof storyFactTypes)[number];

export interface StoryFactChange {
  type: StoryFactType;
  /** What the fact is about, naming it across scenes: "the silver key", "Mara's promise". */
  subject: string;
  /** The fact as one sentence. */
  text: string;
  /** 'resolve': no longer true (given away, healed, kept or broken, answered). */
  op: 'add' | 'resolve';
}

export interface StoryFact {
  type: StoryFactType;
  subject: string;
  text: string;
}

const maxFactsPerScene = 12;

/** The key a fact is known by: its type and its subject, in normalised words. */
export function factKey(type: StoryFactType, subject: string): string {
  const words = subject.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim().replace(/^(the|a|an) /, '');
  return `${type}:${words}`.slice(0, 200);
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown, max: number) => (typeof value === 'string' ? value.replace(/\s+/g, ' ').trim().slice(0, max) : '');

/**
 * Reads the facts of a model's answer leniently: an answer without facts, or with some that
 * are unusable, is still a scene; what cannot be read is dropped, never guessed.
 */
export function sanitizeFacts(raw: unknown): StoryFactChange[] {
  if (!Array.isArray(raw)) return [];
  const facts: StoryFactChange[] = [];
  for (const item of raw) {
    if (!isRecord(item)) continue;
    const type = text(item['type'] ?? item['kind'], 20).toLowerCase();
    if (!(storyFactTypes as readonly string[]).includes(type)) continue;
    const statement = text(item['text'] ?? item['fact'] ?? item['description'], 1000);
    const subject = text(item['subject'] ?? item['name'] ?? item['key'], 200) || statement.slice(0, 80);
    const status = text(item['status'] ?? item['op'], 20).toLowerCase();
    const op = ['resolved', 'resolve', 'removed', 'remove', 'done', 'lost', 'healed', 'answered', 'kept', 'broken'].includes(status) || item['resolved'] === true ? 'resolve' : 'add';
    if (subject === '' || (statement === '' && op === 'add')) continue;
    facts.push({ type: type as StoryFactType, subject, text: statement || subject, op });
    if (facts.length >= maxFactsPerScene) break;
  }
  return facts;
}

/** Records a scene's fact changes in the turn's commit, in the order the model gave them. */
export async function insertSceneFacts(tx: Queryable, storyId: string, sceneId: string, facts: readonly StoryFactChange[]): Promise<void> {
  await runStatementParts(tx, sceneFactParts(storyId, sceneId, facts));
}

/** insertSceneFacts as parts of another statement (the scene's insert); none when the scene changed no fact. */
export function sceneFactParts(storyId: string, sceneId: string, facts: readonly StoryFactChange[]): StatementPart[] {
  if (facts.length === 0) return [];
  return [
    statementPart(
      `INSERT INTO story_facts (story_id, scene_id, seq, op, fact_type, fact_key, content)
       SELECT $1, $2, f.seq - 1, f.op, f.fact_type, f.fact_key, f.content
         FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS f(op, fact_type, fact_key, content, seq)`,
      [storyId, sceneId, facts.map((f) => f.op), facts.map((f) => f.type), facts.map((f) => factKey(f.type, f.subject)), facts.map((f) => f.text)],
    ),
  ];
}

/** Folds fact changes in path order: an add sets the fact under its key, a resolve removes it. */
export function foldFacts(changes: Iterable<{ op: 'add' | 'resolve'; type: StoryFactType; key: string; text: string }>): Map<string, StoryFact> {
  const facts = new Map<string, StoryFact>();
  for (const change of changes) {
    if (change.op === 'resolve') facts.delete(change.key);
    else {
      facts.delete(change.key); // re-added facts move to the end: newest last
      facts.set(change.key, { type: change.type, subject: change.key.slice(change.type.length + 1), text: change.text });
    }
  }
  return facts;
}

/**
 * What is true at `sceneId`: every fact change along its path, folded, oldest first. The
 * path's ids come from `loadPath` (a turn passes the ids it loaded already): a story has few
 * facts, so they are read by story and kept if on the path, instead of a walk of every
 * ancestor per read (1,500 probes at 2,000 scenes, bench/results "world at scale").
 */
export async function loadFactsAt(db: Queryable, storyId: string, sceneId: string, pathSceneIds?: readonly string[]): Promise<StoryFact[]> {
  const ids = pathSceneIds ?? (await loadPath(db, storyId, sceneId, 0)).ids;
  const [facts] = await readTogether(db, [factsAtRead(storyId, ids)]);
  return facts;
}

interface FactChangeRow {
  op: 'add' | 'resolve';
  fact_type: StoryFactType;
  fact_key: string;
  content: string;
}

/** loadFactsAt on a path already walked, as a read that may share a statement with others (a turn's context). */
export function factsAtRead(storyId: string, pathSceneIds: readonly string[]): SharedRead<StoryFact[], FactChangeRow> {
  return {
    sql: `SELECT f.op, f.fact_type, f.fact_key, f.content
       FROM story_facts f JOIN scenes s ON s.story_id = f.story_id AND s.id = f.scene_id
      WHERE f.story_id = $1 AND ${onPathSql('f.scene_id', '$2')}
      ORDER BY s.scene_number, f.seq`,
    params: [storyId, pathParam(pathSceneIds)],
    decode: (rows) => [...foldFacts(rows.map((row) => ({ op: row.op, type: row.fact_type, key: row.fact_key, text: row.content }))).values()],
  };
}

/** One line per fact for the storyteller, grouped by type. */
export function describeFacts(facts: readonly StoryFact[]): string[] {
  const label: Record<StoryFactType, string> = { possession: 'Possession', injury: 'Injury', promise: 'Promise', place: 'Place', question: 'Open question' };
  return storyFactTypes.flatMap((type) => facts.filter((fact) => fact.type === type).map((fact) => `${label[type]}: ${fact.text}`));
}
