import { measureLockWait, readTogether, runStatementParts, statementPart, withStatementParts, type Queryable, type SharedRead, type StatementPart } from '../db/index.js';
import { AppError } from '../errors.js';
import { characterColumns, toCharacter, type Character } from '../characters/character-repo.js';

/**
 * The world as of a scene (DESIGN invariant 7): character_states and relationship_states hold
 * a full snapshot per scene, world_events the record of every change. Every writer here
 * appends the event and applies the same change to the snapshot in one statement each, so
 * concurrent changes add up (invariant 6).
 *
 * Why per-scene snapshots (measured by bench/world-scale.ts, bench/results "world at scale":
 * a branchy story of 2,000 scenes, head 1,450 deep, 50 characters and 100 relationships met,
 * against 20 scenes with the same world; the machine was shared and loaded, read the ratios):
 * - Reading the state at a scene is one indexed lookup on (story_id, scene_id), flat in the
 *   story's length: head read (characters + relationships, as the routes read them) p50
 *   3.6 ms at 2,000 scenes vs 3.5 ms at 20 on server PostgreSQL, 8.6 vs 9.0 ms on PGlite.
 * - Folding the events along the path at read time (the alternative; loadPathEvents +
 *   foldWorldEvents) grows with the path: 6.1 vs 1.8 ms on the server, 19 vs 7.4 ms on PGlite,
 *   for a world whose events are mostly its seeding; a played story adds events with every
 *   change, so the fold keeps growing while the snapshot read does not.
 * - The price is the copy a turn makes of its parent's snapshot (branchWorldState, one
 *   statement): it grows with the world (characters met), never with the story: p50 3.6 vs
 *   3.1 ms server, 7.5 vs 7.2 ms PGlite for 150 rows. A turn's engine overhead at 2,000 scenes
 *   is 1.47× that at 20 on the server and 1.70× on PGlite; what still grows is the search of
 *   the path's scenes and memories, not the world.
 * - Deltas folded from the nearest snapshot, or a materialised path, would trade the copy for
 *   a read that grows again.
 * - The snapshot tables' references (scene, characters) are checked once per statement, not
 *   by a foreign key per row (migrations/0026): the keys' per-row checks and row locks were
 *   three quarters of the copy on PGlite.
 */

export type WorldEventSource = 'scene' | 'talk' | 'edit';

/** A character as the world stands at one scene. */
export type CharacterAtScene = Character & {
  /** Met on this scene's path; false for a character known to the whole story (a card, an import) not yet met here. */
  met: boolean;
  /** The scene the state was read at; null when the story has no scene yet. */
  atSceneId: string | null;
};

const stateColumns = (alias: string) =>
  characterColumns
    .split(',')
    .map((column) => column.trim())
    .map((column) =>
      ['description', 'personality', 'goals', 'background', 'mood', 'emotion_valence', 'emotion_arousal', 'emotion_dominance'].includes(column)
        ? `COALESCE(${alias}.${column}, c.${column}) AS ${column}`
        : `c.${column}`,
    )
    .join(', ');

/**
 * The characters known at `sceneId` (null: before the opening scene): those met on its path
 * with their state there, and those no scene created (cards, imports) with their own values
 * where the path has not met them yet. One indexed lookup whatever the story's length.
 */
export async function readCharactersAt(
  db: Queryable,
  storyId: string,
  sceneId: string | null,
  options: { characterIds?: string[] } = {},
): Promise<CharacterAtScene[]> {
  const [characters] = await readTogether(db, [charactersAtRead(storyId, sceneId, options)]);
  return characters;
}

/** readCharactersAt as a read that may share a statement with others (a turn's context). */
export function charactersAtRead(storyId: string, sceneId: string | null, options: { characterIds?: string[] } = {}): SharedRead<CharacterAtScene[], unknown> {
  return {
    sql: charactersAtSql(''),
    params: [storyId, sceneId, options.characterIds ?? null],
    decode: (rows) => rows.map((row) => toCharacterAtScene(row, sceneId)),
  };
}

/** How a character stands with the player at a scene; null before they have met there. */
export interface PlayerStanding {
  playerTrust: number | null;
  playerSentiment: number | null;
}

/**
 * readCharactersAt with each character's relationship to the player at the same scene, in
 * the same statement (what the characters route shows): one round trip, not two.
 */
export async function readCharactersWithPlayerStandingAt(db: Queryable, storyId: string, sceneId: string | null): Promise<(CharacterAtScene & PlayerStanding)[]> {
  const { rows } = await db.query<Record<string, unknown> & { player_trust: number | null; player_sentiment: number | null }>(
    // LATERAL with LIMIT (at most one row anyway: the pair is unique), so that it stays one
    // index probe per character whatever the statistics say: as a plain join it was planned,
    // without statistics, as a rescan of every player relationship at the scene per character.
    charactersAtSql(`LEFT JOIN LATERAL (
        SELECT trust, sentiment FROM relationship_states
         WHERE story_id = $1 AND scene_id = $2 AND character_id = c.id AND target_character_id IS NULL LIMIT 1) pr ON true`),
    [storyId, sceneId, null],
  );
  return rows.map((row) => ({ ...toCharacterAtScene(row, sceneId), playerTrust: row.player_trust ?? null, playerSentiment: row.player_sentiment ?? null }));
}

/** The characters at scene $2 of story $1 (of ids $3 when not null), with `join`'s columns `pr.trust` and `pr.sentiment` when given. */
function charactersAtSql(join: string): string {
  return `SELECT ${stateColumns('st')}, st.character_id IS NOT NULL AS met${join ? ', pr.trust AS player_trust, pr.sentiment AS player_sentiment' : ''}
       FROM characters c
       LEFT JOIN character_states st ON st.story_id = c.story_id AND st.scene_id = $2 AND st.character_id = c.id
       ${join}
      WHERE c.story_id = $1 AND (st.character_id IS NOT NULL OR c.first_scene_id IS NULL)
        AND ($3::uuid[] IS NULL OR c.id = ANY($3::uuid[]))
      ORDER BY c.created_at, c.name_key`;
}

function toCharacterAtScene(row: unknown, sceneId: string | null): CharacterAtScene {
  return { ...toCharacter(row as Parameters<typeof toCharacter>[0]), met: Boolean((row as { met: boolean }).met), atSceneId: sceneId };
}

export interface RelationshipAtScene {
  characterId: string;
  /** null: the relationship with the player. */
  targetCharacterId: string | null;
  targetName: string | null;
  sentiment: number;
  trust: number;
  familiarity: number;
  type: string;
  interactionCount: number;
  updatedAt: Date;
}

interface RelationshipStateRow {
  character_id: string;
  target_character_id: string | null;
  target_name: string | null;
  sentiment: number;
  trust: number;
  familiarity: number;
  type: string;
  interaction_count: number;
  updated_at: Date | string;
}

function toRelationship(row: RelationshipStateRow): RelationshipAtScene {
  return {
    characterId: row.character_id,
    targetCharacterId: row.target_character_id,
    targetName: row.target_name,
    sentiment: row.sentiment,
    trust: row.trust,
    familiarity: row.familiarity,
    type: row.type,
    interactionCount: row.interaction_count,
    updatedAt: new Date(row.updated_at),
  };
}

/** Relationships at a scene, the player's first, of some characters (default: all). */
export async function readRelationshipsAt(
  db: Queryable,
  storyId: string,
  sceneId: string | null,
  options: { characterIds?: string[]; playerOnly?: boolean } = {},
): Promise<RelationshipAtScene[]> {
  if (sceneId === null) return [];
  const [relationships] = await readTogether(db, [relationshipsAtRead(storyId, sceneId, options)]);
  return relationships;
}

/** readRelationshipsAt as a read that may share a statement with others (a turn's context). */
export function relationshipsAtRead(
  storyId: string,
  sceneId: string,
  options: { characterIds?: string[]; playerOnly?: boolean } = {},
): SharedRead<RelationshipAtScene[], RelationshipStateRow> {
  return {
    sql: `SELECT r.character_id, r.target_character_id, t.name AS target_name, r.sentiment, r.trust, r.familiarity, r.type,
            r.interaction_count, r.updated_at
       FROM relationship_states r
       LEFT JOIN characters t ON t.story_id = r.story_id AND t.id = r.target_character_id
      WHERE r.story_id = $1 AND r.scene_id = $2
        AND ($3::uuid[] IS NULL OR r.character_id = ANY($3::uuid[]))
        AND (NOT $4 OR r.target_character_id IS NULL)
      ORDER BY r.character_id, r.target_character_id IS NOT NULL, t.name`,
    params: [storyId, sceneId, options.characterIds ?? null, options.playerOnly ?? false],
    decode: (rows) => rows.map(toRelationship),
  };
}

/**
 * The lock every talk and edit takes before it writes the world at the head: the story row
 * FOR SHARE (lock order: story first). Talks and edits share it, so they never wait on each
 * other; a turn's commit takes the row FOR NO KEY UPDATE (which excludes FOR SHARE), so a change made at the head is either in
 * the snapshot the new scene starts from or, if it comes later, anchored at the new head.
 */
export async function lockHeadForWorldWrite(tx: Queryable, storyId: string): Promise<{ headSceneId: string | null; status: string }> {
  const { rows } = await measureLockWait('story', () =>
    tx.query<{ head_scene_id: string | null; status: string }>(`SELECT head_scene_id, status FROM stories WHERE id = $1 FOR SHARE`, [storyId]),
  );
  if (!rows[0]) throw new AppError('not_found', `No story with id ${storyId}.`, { details: { storyId } });
  return { headSceneId: rows[0].head_scene_id, status: rows[0].status };
}

/**
 * A new scene starts from its parent's world as it stands now (inside the turn's commit, with
 * the story row locked): every snapshot row copied, and the last parent event recorded so that
 * a fold of the path knows which of the parent's events this branch carries.
 */
export async function branchWorldState(tx: Queryable, storyId: string, parentSceneId: string | null, sceneId: string): Promise<void> {
  if (parentSceneId === null) return;
  // One statement: both snapshots copied and the parent's last event noted (the parts share
  // one snapshot of the parent, which the story lock keeps still anyway).
  const { sql, params } = withStatementParts(
    { sql: `UPDATE scenes SET state_through_seq = ${parentStateThroughSeqSql('$1', '$2')} WHERE story_id = $1 AND id = $3`, params: [storyId, parentSceneId, sceneId] },
    worldBranchParts(storyId, parentSceneId, sceneId),
  );
  await tx.query(sql, params);
}

/**
 * branchWorldState's copies as parts of the statement that inserts the scene, which sets the
 * scene's state_through_seq to parentStateThroughSeqSql itself; none for an opening scene.
 */
export function worldBranchParts(storyId: string, parentSceneId: string | null, sceneId: string): StatementPart[] {
  if (parentSceneId === null) return [];
  const params = [storyId, parentSceneId, sceneId];
  return [
    statementPart(
      `INSERT INTO character_states (story_id, scene_id, character_id, description, personality, goals, background, mood,
                                     emotion_valence, emotion_arousal, emotion_dominance)
       SELECT story_id, $3, character_id, description, personality, goals, background, mood, emotion_valence, emotion_arousal, emotion_dominance
         FROM character_states WHERE story_id = $1 AND scene_id = $2`,
      params,
    ),
    statementPart(
      `INSERT INTO relationship_states (story_id, scene_id, character_id, target_character_id, sentiment, trust, familiarity, type, interaction_count)
       SELECT story_id, $3, character_id, target_character_id, sentiment, trust, familiarity, type, interaction_count
         FROM relationship_states WHERE story_id = $1 AND scene_id = $2`,
      params,
    ),
  ];
}

/** The last world event of the parent scene (0 without one): where its child's own state begins. */
export function parentStateThroughSeqSql(storyParam: string, parentParam: string): string {
  return `COALESCE((SELECT max(seq) FROM world_events WHERE story_id = ${storyParam} AND scene_id = ${parentParam}), 0)`;
}

/**
 * Characters enter the world of a scene (met there) starting from the values they were created
 * with; those already known there are left alone. Returns nothing: one statement, event
 * included, with the caller's parts (which see the world as it was before the meeting).
 */
export async function meetCharacters(
  tx: Queryable,
  input: { storyId: string; sceneId: string; source: WorldEventSource; characterIds: string[]; parts?: readonly StatementPart[] },
): Promise<void> {
  if (input.characterIds.length === 0) {
    await runStatementParts(tx, input.parts ?? []);
    return;
  }
  const { sql, params } = withStatementParts(
    {
      sql: `WITH met AS (
       INSERT INTO character_states (story_id, scene_id, character_id, description, personality, goals, background, mood,
                                     emotion_valence, emotion_arousal, emotion_dominance)
       SELECT c.story_id, $2, c.id, c.description, c.personality, c.goals, c.background, c.mood, c.emotion_valence, c.emotion_arousal, c.emotion_dominance
         FROM characters c WHERE c.story_id = $1 AND c.id = ANY($4::uuid[])
        ORDER BY c.id
       ON CONFLICT (story_id, scene_id, character_id) DO NOTHING
       RETURNING *
     )
     INSERT INTO world_events (story_id, scene_id, source, character_id, op, payload)
     SELECT story_id, scene_id, $3, character_id, 'meet',
            jsonb_build_object('description', description, 'personality', personality, 'goals', goals, 'background', background,
              'mood', mood, 'valence', emotion_valence, 'arousal', emotion_arousal, 'dominance', emotion_dominance)
       FROM met ORDER BY character_id`,
      params: [input.storyId, input.sceneId, input.source, input.characterIds],
    },
    input.parts ?? [],
  );
  await tx.query(sql, params);
}

/** Profile fields a scene or an edit may change about a character. */
export const stateTextFields = ['description', 'personality', 'goals', 'background', 'mood'] as const;
export type StateTextField = (typeof stateTextFields)[number];

/** One change to a character's state at a scene (an `update` event). */
export interface CharacterStateChange {
  characterId: string;
  /** Replaced outright. */
  set?: Partial<Record<StateTextField, string>>;
  /** Filled only where still empty: what the model first says about someone. */
  fill?: Partial<Record<'description' | 'personality' | 'goals', string>>;
  /** Smoothed: new = old + alpha·(reading − old), clamped to [-1, 1]; a missing reading keeps the old value. */
  emotion?: { valence?: number; arousal?: number; dominance?: number; alpha: number };
}

function finiteOrNull(value: number | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? Math.max(-1, Math.min(1, value)) : null;
}

/**
 * Applies state changes to characters already known at the scene (meet them first), each an
 * event and the same change to the snapshot, in one statement for all of them.
 */
export async function changeCharacterStates(tx: Queryable, input: { storyId: string; sceneId: string; source: WorldEventSource; changes: CharacterStateChange[] }): Promise<void> {
  const changes = [...input.changes].sort((a, b) => (a.characterId < b.characterId ? -1 : a.characterId > b.characterId ? 1 : 0));
  if (changes.length === 0) return;
  const payloads = changes.map((change) => {
    const payload: Record<string, unknown> = {};
    if (change.set && Object.keys(change.set).length > 0) payload['set'] = change.set;
    if (change.fill && Object.keys(change.fill).length > 0) payload['fill'] = change.fill;
    if (change.emotion) {
      payload['emotion'] = {
        valence: finiteOrNull(change.emotion.valence),
        arousal: finiteOrNull(change.emotion.arousal),
        dominance: finiteOrNull(change.emotion.dominance),
        alpha: change.emotion.alpha,
      };
    }
    return payload;
  });
  const { rowCount } = await tx.query(
    `WITH u AS (
       SELECT * FROM unnest($4::uuid[], $5::jsonb[]) AS u(character_id, payload)
     ), events AS (
       INSERT INTO world_events (story_id, scene_id, source, character_id, op, payload)
       SELECT $1, $2, $3, character_id, 'update', payload FROM u
     )
     UPDATE character_states AS st SET
       description = COALESCE(u.payload #>> '{set,description}', CASE WHEN st.description = '' THEN COALESCE(u.payload #>> '{fill,description}', '') ELSE st.description END),
       personality = COALESCE(u.payload #>> '{set,personality}', CASE WHEN st.personality = '' THEN COALESCE(u.payload #>> '{fill,personality}', '') ELSE st.personality END),
       goals = COALESCE(u.payload #>> '{set,goals}', CASE WHEN st.goals = '' THEN COALESCE(u.payload #>> '{fill,goals}', '') ELSE st.goals END),
       background = COALESCE(u.payload #>> '{set,background}', st.background),
       mood = COALESCE(u.payload #>> '{set,mood}', st.mood),
       emotion_valence = LEAST(1, GREATEST(-1, st.emotion_valence + COALESCE((u.payload #>> '{emotion,alpha}')::real, 0)
         * (COALESCE((u.payload #>> '{emotion,valence}')::real, st.emotion_valence) - st.emotion_valence))),
       emotion_arousal = LEAST(1, GREATEST(-1, st.emotion_arousal + COALESCE((u.payload #>> '{emotion,alpha}')::real, 0)
         * (COALESCE((u.payload #>> '{emotion,arousal}')::real, st.emotion_arousal) - st.emotion_arousal))),
       emotion_dominance = LEAST(1, GREATEST(-1, st.emotion_dominance + COALESCE((u.payload #>> '{emotion,alpha}')::real, 0)
         * (COALESCE((u.payload #>> '{emotion,dominance}')::real, st.emotion_dominance) - st.emotion_dominance))),
       updated_at = now()
     FROM u
     WHERE st.story_id = $1 AND st.scene_id = $2 AND st.character_id = u.character_id`,
    [input.storyId, input.sceneId, input.source, changes.map((c) => c.characterId), payloads.map((p) => JSON.stringify(p))],
  );
  if (rowCount !== changes.length) throw new AppError('internal', 'A character state changed before the character was met at that scene.');
}

export interface RelationshipChangeAtScene {
  characterId: string;
  /** null for the player. */
  targetCharacterId: string | null;
  sentimentDelta?: number;
  trustDelta?: number;
  familiarityDelta?: number;
  type?: string;
}

function deltaOrZero(value: number | undefined): number {
  return typeof value === 'number' && Number.isFinite(value) ? Math.max(-1, Math.min(1, value)) : 0;
}

/**
 * Applies relationship deltas at a scene in one upsert, so concurrent adjustments add up
 * instead of overwriting each other (invariant 6); each value is clamped to its range and
 * rounded to 6 decimals so that float4 drift cannot leave twenty +0.05 steps at 0.99999994.
 * Counts one interaction, and records the change as an event.
 */
export async function adjustRelationshipAt(
  tx: Queryable,
  input: { storyId: string; sceneId: string; source: WorldEventSource } & RelationshipChangeAtScene,
): Promise<RelationshipAtScene> {
  const { storyId, sceneId, source, ...change } = input;
  const [row] = await adjustRelationshipsAt(tx, { storyId, sceneId, source, changes: [change] });
  return row!;
}

/**
 * adjustRelationshipAt for many changes at one scene (a turn's commit): one statement per
 * round, each round holding at most one change per pair (an upsert cannot touch a row twice),
 * applied in the order given, so the snapshot equals the fold of the events exactly as if the
 * changes had been made one by one. Returns the relationships after each change, in order.
 */
export async function adjustRelationshipsAt(
  tx: Queryable,
  input: { storyId: string; sceneId: string; source: WorldEventSource; changes: RelationshipChangeAtScene[] },
): Promise<RelationshipAtScene[]> {
  const rounds: { change: RelationshipChangeAtScene; index: number }[][] = [];
  const seen = new Map<string, number>();
  input.changes.forEach((change, index) => {
    const key = `${change.characterId}>${change.targetCharacterId ?? ''}`;
    const round = seen.get(key) ?? 0;
    seen.set(key, round + 1);
    (rounds[round] ??= []).push({ change, index });
  });
  const results: RelationshipAtScene[] = new Array(input.changes.length);
  for (const round of rounds) {
    const { rows } = await tx.query<RelationshipStateRow & { ord: string | number }>(
      `WITH input AS (
         SELECT * FROM unnest($4::uuid[], $5::uuid[], $6::numeric[], $7::numeric[], $8::numeric[], $9::text[])
           WITH ORDINALITY AS u(character_id, target_character_id, sentiment_delta, trust_delta, familiarity_delta, type, ord)
       ), event AS (
         INSERT INTO world_events (story_id, scene_id, source, character_id, target_character_id, op, payload)
         SELECT $1, $2, $3, character_id, target_character_id, 'relationship',
                jsonb_build_object('sentimentDelta', sentiment_delta, 'trustDelta', trust_delta, 'familiarityDelta', familiarity_delta, 'type', type)
           FROM input ORDER BY ord
       )
       INSERT INTO relationship_states AS r
         (story_id, scene_id, character_id, target_character_id, sentiment, trust, familiarity, type, interaction_count)
       SELECT $1, $2, character_id, target_character_id,
         LEAST(1, GREATEST(-1, round(sentiment_delta, 6))),
         LEAST(1, GREATEST(0, round(trust_delta, 6))),
         LEAST(1, GREATEST(0, round(familiarity_delta, 6))),
         COALESCE(type, 'acquaintance'), 1
         FROM input ORDER BY ord
       ON CONFLICT ON CONSTRAINT relationship_states_pair_unique DO UPDATE SET
         (sentiment, trust, familiarity, type, interaction_count, updated_at) = (
           SELECT LEAST(1, GREATEST(-1, round(r.sentiment::numeric + i.sentiment_delta, 6))),
                  LEAST(1, GREATEST(0, round(r.trust::numeric + i.trust_delta, 6))),
                  LEAST(1, GREATEST(0, round(r.familiarity::numeric + i.familiarity_delta, 6))),
                  COALESCE(i.type, r.type), r.interaction_count + 1, now()
             FROM input i
            WHERE i.character_id = excluded.character_id AND i.target_character_id IS NOT DISTINCT FROM excluded.target_character_id)
       RETURNING (SELECT i.ord FROM input i WHERE i.character_id = r.character_id AND i.target_character_id IS NOT DISTINCT FROM r.target_character_id) AS ord,
                 r.character_id, r.target_character_id, NULL::text AS target_name, r.sentiment, r.trust, r.familiarity, r.type,
                 r.interaction_count, r.updated_at`,
      [
        input.storyId,
        input.sceneId,
        input.source,
        round.map(({ change }) => change.characterId),
        round.map(({ change }) => change.targetCharacterId),
        round.map(({ change }) => deltaOrZero(change.sentimentDelta)),
        round.map(({ change }) => deltaOrZero(change.trustDelta)),
        round.map(({ change }) => deltaOrZero(change.familiarityDelta)),
        round.map(({ change }) => change.type?.trim().slice(0, 50) || null),
      ],
    );
    for (const row of rows) results[round[Number(row.ord) - 1]!.index] = toRelationship(row);
  }
  return results;
}
