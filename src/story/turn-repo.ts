import { upsertModelCallsSql } from '../llm/model-call-counts.js';
import type { Queryable } from '../db/index.js';
import { sceneWithCharactersSql, toSceneWithCharacters, type SceneWithCharactersRecord } from './story-repo.js';
import { toSceneView, type SceneView } from './scene-view.js';

export type TurnKind = 'open' | 'advance' | 'regenerate';
export type TurnStatus = 'generating' | 'succeeded' | 'failed';

export interface TurnRow {
  id: string;
  storyId: string;
  kind: TurnKind;
  fromSceneId: string | null;
  choiceNumber: number | null;
  instruction: string | null;
  requestHash: string;
  status: TurnStatus;
  leaseOwner: string | null;
  leaseExpired: boolean;
  attempts: number;
  /** Model calls started for this turn so far, by every process that generated it. */
  modelCalls: number;
  sceneId: string | null;
  errorCode: string | null;
  errorMessage: string | null;
}

interface TurnRecord {
  id: string;
  story_id: string;
  kind: TurnKind;
  from_scene_id: string | null;
  choice_number: number | null;
  instruction: string | null;
  request_hash: string;
  status: TurnStatus;
  lease_owner: string | null;
  lease_expired: boolean;
  attempts: number;
  model_calls: number;
  scene_id: string | null;
  error_code: string | null;
  error_message: string | null;
}

// The lease is judged by the database clock, so processes with skewed clocks agree.
const turnColumns = `id, story_id, kind, from_scene_id, choice_number, instruction, request_hash, status,
  lease_owner, (status = 'generating' AND lease_expires_at < clock_timestamp()) AS lease_expired, attempts, model_calls, scene_id, error_code, error_message`;

function toTurn(row: TurnRecord): TurnRow {
  return {
    id: row.id,
    storyId: row.story_id,
    kind: row.kind,
    fromSceneId: row.from_scene_id,
    choiceNumber: row.choice_number,
    instruction: row.instruction,
    requestHash: row.request_hash,
    status: row.status,
    leaseOwner: row.lease_owner,
    leaseExpired: row.lease_expired,
    attempts: row.attempts,
    modelCalls: row.model_calls,
    sceneId: row.scene_id,
    errorCode: row.error_code,
    errorMessage: row.error_message,
  };
}

export async function findTurn(db: Queryable, storyId: string, turnId: string): Promise<TurnRow | undefined> {
  const { rows } = await db.query<TurnRecord>(`SELECT ${turnColumns} FROM turns WHERE story_id = $1 AND id = $2`, [storyId, turnId]);
  return rows[0] ? toTurn(rows[0]) : undefined;
}

export async function findTurnByIdempotencyKey(tx: Queryable, storyId: string, key: string): Promise<TurnRow | undefined> {
  const { rows } = await tx.query<TurnRecord>(
    `SELECT ${turnColumns} FROM turns
      WHERE story_id = $1 AND id = (SELECT turn_id FROM turn_idempotency_keys WHERE story_id = $1 AND idempotency_key = $2)`,
    [storyId, key],
  );
  return rows[0] ? toTurn(rows[0]) : undefined;
}

/** Names the turn that answers requests carrying this key (the story row lock is held). */
export async function recordIdempotencyKey(tx: Queryable, storyId: string, key: string, turnId: string): Promise<void> {
  await tx.query(`INSERT INTO turn_idempotency_keys (story_id, idempotency_key, turn_id) VALUES ($1, $2, $3)`, [storyId, key, turnId]);
}

export async function findGeneratingTurn(tx: Queryable, storyId: string): Promise<TurnRow | undefined> {
  const { rows } = await tx.query<TurnRecord>(`SELECT ${turnColumns} FROM turns WHERE story_id = $1 AND status = 'generating'`, [storyId]);
  return rows[0] ? toTurn(rows[0]) : undefined;
}

/** What a claim to advance from a scene needs to know, besides the story row it has locked. */
export interface AdvanceClaimState {
  /** The scene advanced from; undefined when there is no such scene in the story. */
  from?: { sceneNumber: number; choices: { number: number; content: string }[]; children: number };
  /** The story's generating turn, if any (at most one, by a unique index). */
  inFlight?: TurnRow;
  /** The child an author wrote for this choice (an imported Twine passage), if any. */
  authoredSceneId?: string;
}

/**
 * The reads of a claim to advance, in one statement under the story lock: the generating
 * turn, the scene advanced from (its number, choices and children, not its text), and the
 * authored child for the choice. Three round trips were a fifth of a claim's statements.
 */
export async function readAdvanceClaimState(
  tx: Queryable,
  storyId: string,
  fromSceneId: string,
  choiceNumber: number | null,
  authoredSceneKey: string,
): Promise<AdvanceClaimState> {
  const { rows } = await tx.query<{
    scene_number: number | null;
    choices: { number: number; content: string }[] | null;
    children: number;
    in_flight: TurnRecord | null;
    authored_scene_id: string | null;
  }>(
    `SELECT s.scene_number,
            (SELECT json_agg(json_build_object('number', c.choice_number, 'content', c.content) ORDER BY c.choice_number)
               FROM choices c WHERE c.story_id = s.story_id AND c.scene_id = s.id) AS choices,
            (SELECT count(*)::int FROM scenes k WHERE k.story_id = $1 AND k.parent_scene_id = $2) AS children,
            (SELECT row_to_json(g) FROM (SELECT ${turnColumns} FROM turns WHERE story_id = $1 AND status = 'generating') g) AS in_flight,
            (SELECT a.id FROM scenes a
              WHERE a.story_id = $1 AND a.parent_scene_id = $2 AND a.choice_number = $3 AND a.turn_id IS NULL AND a.metadata ? $4
              ORDER BY a.created_at, a.id LIMIT 1) AS authored_scene_id
       FROM (SELECT 1) AS one LEFT JOIN scenes s ON s.story_id = $1 AND s.id = $2`,
    [storyId, fromSceneId, choiceNumber, authoredSceneKey],
  );
  const row = rows[0]!;
  return {
    ...(row.scene_number === null ? {} : { from: { sceneNumber: row.scene_number, choices: row.choices ?? [], children: row.children } }),
    ...(row.in_flight ? { inFlight: toTurn(row.in_flight) } : {}),
    ...(row.authored_scene_id ? { authoredSceneId: row.authored_scene_id } : {}),
  };
}

/** A finished identical request from the same scene: a late duplicate gets that turn's scene. */
export async function findSucceededTwin(tx: Queryable, storyId: string, fromSceneId: string, requestHash: string): Promise<TurnRow | undefined> {
  const { rows } = await tx.query<TurnRecord>(
    `SELECT ${turnColumns} FROM turns
      WHERE story_id = $1 AND from_scene_id = $2 AND request_hash = $3 AND status = 'succeeded'
      ORDER BY finished_at DESC LIMIT 1`,
    [storyId, fromSceneId, requestHash],
  );
  return rows[0] ? toTurn(rows[0]) : undefined;
}

export async function insertTurn(
  tx: Queryable,
  turn: {
    storyId: string;
    kind: TurnKind;
    fromSceneId: string | null;
    choiceNumber: number | null;
    instruction: string | null;
    requestHash: string;
    leaseOwner: string;
    leaseMs: number;
    claimId: string;
    /** Someone waiting for the turn from the start (a turn_waiters row, in the same statement). */
    waiterId?: string;
  },
): Promise<TurnRow> {
  const params = [turn.storyId, turn.kind, turn.fromSceneId, turn.choiceNumber, turn.instruction, turn.requestHash, turn.leaseOwner, turn.leaseMs, turn.claimId];
  const insert = `INSERT INTO turns (story_id, kind, from_scene_id, choice_number, instruction, request_hash, status, lease_owner, lease_expires_at, claim_id)
     VALUES ($1, $2, $3, $4, $5, $6, 'generating', $7, clock_timestamp() + $8 * interval '1 millisecond', $9)
     RETURNING ${turnColumns}`;
  const { rows } = await tx.query<TurnRecord>(
    turn.waiterId === undefined
      ? insert
      : `WITH turn AS (${insert}), waiter AS (INSERT INTO turn_waiters (story_id, turn_id, waiter_id) SELECT story_id, id, $10 FROM turn)
         SELECT * FROM turn`,
    turn.waiterId === undefined ? params : [...params, turn.waiterId],
  );
  return toTurn(rows[0]!);
}

/** A turn that is over as it starts: it moved the head to an existing scene and called no model. */
export async function insertFinishedTurn(
  tx: Queryable,
  turn: { storyId: string; kind: TurnKind; fromSceneId: string; choiceNumber: number; instruction: string | null; requestHash: string; sceneId: string },
): Promise<TurnRow> {
  const { rows } = await tx.query<TurnRecord>(
    `INSERT INTO turns (story_id, kind, from_scene_id, choice_number, instruction, request_hash, status, scene_id, model_calls, finished_at)
     VALUES ($1, $2, $3, $4, $5, $6, 'succeeded', $7, 0, now())
     RETURNING ${turnColumns}`,
    [turn.storyId, turn.kind, turn.fromSceneId, turn.choiceNumber, turn.instruction, turn.requestHash, turn.sceneId],
  );
  return toTurn(rows[0]!);
}

/** Takes over a turn whose lease expired, or re-arms a failed one for a retried request. */
export async function claimTurn(tx: Queryable, storyId: string, turnId: string, lease: { owner: string; leaseMs: number; claimId: string }): Promise<TurnRow> {
  const { rows } = await tx.query<TurnRecord>(
    `UPDATE turns SET status = 'generating', lease_owner = $3, lease_expires_at = clock_timestamp() + $4 * interval '1 millisecond',
            attempts = attempts + 1, error_code = NULL, error_message = NULL, finished_at = NULL, updated_at = now(), claim_id = $5
      WHERE story_id = $1 AND id = $2
      RETURNING ${turnColumns}`,
    [storyId, turnId, lease.owner, lease.leaseMs, lease.claimId],
  );
  return toTurn(rows[0]!);
}

/** The turn a claim (named before it was sent) generates, if that claim committed and is still running. */
export async function findClaimedTurn(db: Queryable, storyId: string, claimId: string): Promise<TurnRow | undefined> {
  const { rows } = await db.query<TurnRecord>(`SELECT ${turnColumns} FROM turns WHERE story_id = $1 AND claim_id = $2 AND status = 'generating'`, [storyId, claimId]);
  return rows[0] ? toTurn(rows[0]) : undefined;
}

/** Extends the lease; false when the turn is no longer ours (taken over or finished). */
export async function renewLease(db: Queryable, storyId: string, turnId: string, leaseOwner: string, leaseMs: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE turns SET lease_expires_at = clock_timestamp() + $4 * interval '1 millisecond', updated_at = now()
      WHERE story_id = $1 AND id = $2 AND lease_owner = $3 AND status = 'generating'`,
    [storyId, turnId, leaseOwner, leaseMs],
  );
  return rowCount > 0;
}

/**
 * The end of a successful commit, in one statement: the story's head moves to the new scene
 * (its version rises), the turn is marked succeeded (a finished turn has no one left to wait
 * for it: rows of waiters on dead processes go too), and the scene and turn events are sent,
 * in that order, when the transaction commits. Returns the story's new version.
 */
export async function markTurnSucceededAtHead(
  tx: Queryable,
  input: { storyId: string; turnId: string; sceneId: string; modelCalls: number; channel: string },
): Promise<{ version: number; scene: SceneView }> {
  // The new scene as interfaces show it comes back from the same statement: read after the
  // commit it was a round trip of its own on every turn.
  const { rows } = await tx.query<SceneWithCharactersRecord & { head_version: number | string }>(
    `WITH head AS (
       UPDATE stories SET head_scene_id = $3, version = version + 1, updated_at = now() WHERE id = $1 RETURNING version),
     gone AS (DELETE FROM turn_waiters WHERE story_id = $1 AND turn_id = $2),
     done AS (
       UPDATE turns SET status = 'succeeded', scene_id = $3, lease_owner = NULL, lease_expires_at = NULL,
              model_calls = GREATEST(model_calls, $4), finished_at = now(), updated_at = now()
        WHERE story_id = $1 AND id = $2),
     events AS (
       SELECT 1 AS n, json_build_object('type', 'scene', 'storyId', $1::text, 'sceneId', $3::text, 'turnId', $2::text, 'version', head.version)::text AS event FROM head
       UNION ALL
       SELECT 2, json_build_object('type', 'turn', 'storyId', $1::text, 'turnId', $2::text, 'status', 'succeeded')::text),
     notified AS (
       -- pg_notify is volatile: it runs after the sort, so the events go out in order.
       SELECT head.version, pg_notify($5, events.event) FROM head CROSS JOIN events ORDER BY events.n)
     SELECT n.version AS head_version, scene.*
       FROM (SELECT max(version) AS version FROM notified) AS n
       LEFT JOIN (${sceneWithCharactersSql('$1', '$3')}) AS scene ON true`,
    [input.storyId, input.turnId, input.sceneId, input.modelCalls, input.channel],
  );
  const row = rows[0]!;
  const { scene, characters } = toSceneWithCharacters(row);
  return { version: Number(row.head_version), scene: toSceneView(scene, characters) };
}

/**
 * Records how many model calls the turn has started in all. The count is absolute, not an
 * increment: a write whose reply was lost and is sent again cannot count a call twice.
 * Only the process that owns the turn calls the model for it, so its count is the turn's.
 */
export async function recordTurnModelCalls(
  db: Queryable,
  storyId: string,
  turnId: string,
  modelCalls: number,
  /** The same call counted by purpose (model_call_counts), in the same statement. */
  byPurpose?: { sourceId: string; purpose: string; calls: number },
): Promise<void> {
  if (modelCalls <= 0) return;
  if (!byPurpose) {
    await db.query(`UPDATE turns SET model_calls = GREATEST(model_calls, $3), updated_at = now() WHERE story_id = $1 AND id = $2`, [storyId, turnId, modelCalls]);
    return;
  }
  await db.query(
    `WITH turn AS (UPDATE turns SET model_calls = GREATEST(model_calls, $3), updated_at = now() WHERE story_id = $1 AND id = $2)
     ${upsertModelCallsSql('$1', '$4', '$5', '$6')}`,
    [storyId, turnId, modelCalls, byPurpose.sourceId, byPurpose.purpose, byPurpose.calls],
  );
}

/** Takes back the count of a call that was never sent: only where the count is still the one this process wrote. */
export async function unrecordTurnModelCall(
  db: Queryable,
  storyId: string,
  turnId: string,
  countedTotal: number,
  byPurpose: { sourceId: string; purpose: string; calls: number },
): Promise<void> {
  await db.query(
    `WITH turn AS (UPDATE turns SET model_calls = $3 - 1, updated_at = now() WHERE story_id = $1 AND id = $2 AND model_calls = $3)
     UPDATE model_call_counts SET calls = $6 - 1, updated_at = now() WHERE story_id = $1 AND source_id = $4 AND purpose = $5 AND calls = $6`,
    [storyId, turnId, countedTotal, byPurpose.sourceId, byPurpose.purpose, byPurpose.calls],
  );
}

/** Records the failure, only if we still own the turn; returns whether it did. */
export async function markTurnFailed(
  db: Queryable,
  storyId: string,
  turnId: string,
  failure: { leaseOwner: string | null; errorCode: string; errorMessage: string; modelCalls: number },
): Promise<boolean> {
  // One statement (it may run outside a transaction): the failed turn's waiter rows go with it.
  const { rows } = await db.query<{ id: string }>(
    `WITH failed AS (
       UPDATE turns SET status = 'failed', error_code = $4, error_message = left($5, 2000), lease_owner = NULL, lease_expires_at = NULL,
              model_calls = GREATEST(model_calls, $6), finished_at = now(), updated_at = now()
        WHERE story_id = $1 AND id = $2 AND status = 'generating' AND ($3::text IS NULL OR lease_owner = $3)
        RETURNING id),
     gone AS (DELETE FROM turn_waiters w USING failed WHERE w.story_id = $1 AND w.turn_id = failed.id)
     SELECT id FROM failed`,
    [storyId, turnId, failure.leaseOwner, failure.errorCode, failure.errorMessage, failure.modelCalls],
  );
  return rows.length > 0;
}
