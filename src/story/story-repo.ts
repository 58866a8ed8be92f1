import type { Queryable } from '../db/index.js';
import { measureLockWait, withStatementParts, type StatementPart } from '../db/index.js';
import { AppError } from '../errors.js';
import { headPathCte } from '../world/scene-path.js';
import { parentStateThroughSeqSql } from '../world/world-state-repo.js';
import { optionalEmbeddingParam } from '../memory/embedding-param.js';

export interface StoryRow {
  id: string;
  title: string;
  setting: string;
  instructions: string | null;
  systemPrompt: string | null;
  status: 'active' | 'archived';
  headSceneId: string | null;
  version: number;
  seed: number;
  settings: Record<string, unknown>;
  /** Who {{user}} is in prompts; "you" (the default) keeps the second person. */
  playerName: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface ChoiceRow {
  number: number;
  content: string;
  selected: boolean;
}

export interface SceneRow {
  id: string;
  storyId: string;
  parentSceneId: string | null;
  sceneNumber: number;
  turnId: string | null;
  choiceNumber: number | null;
  instruction: string | null;
  content: string;
  rawOutput: string | null;
  provider: string | null;
  model: string | null;
  createdAt: Date;
  choices: ChoiceRow[];
}

const storyColumns = `id, title, setting, instructions, system_prompt, status, head_scene_id, version, seed, settings, player_name, created_at, updated_at`;

interface StoryRecord {
  id: string;
  title: string;
  setting: string;
  instructions: string | null;
  system_prompt: string | null;
  status: 'active' | 'archived';
  head_scene_id: string | null;
  version: number;
  seed: number;
  settings: Record<string, unknown>;
  player_name: string;
  created_at: Date;
  updated_at: Date;
}

function toStory(row: StoryRecord): StoryRow {
  return {
    id: row.id,
    title: row.title,
    setting: row.setting,
    instructions: row.instructions,
    systemPrompt: row.system_prompt,
    status: row.status,
    headSceneId: row.head_scene_id,
    version: Number(row.version),
    seed: Number(row.seed),
    settings: row.settings,
    playerName: row.player_name,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids arrive from users; a malformed one is simply not found (and never reaches SQL as a cast error). */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && uuidPattern.test(value);
}

function storyNotFound(storyId: string): AppError {
  return new AppError('not_found', `No story with id ${storyId}.`, { details: { storyId } });
}

export async function insertStory(
  db: Queryable,
  fields: {
    title: string;
    setting: string;
    instructions?: string | undefined;
    systemPrompt?: string | undefined;
    seed: number;
    settings?: Record<string, unknown>;
    /** The owning user; NULL reads as the built-in local user. */
    ownerId?: string | undefined;
    playerName?: string | undefined;
  },
): Promise<StoryRow> {
  const { rows } = await db.query<StoryRecord>(
    `INSERT INTO stories (title, setting, instructions, system_prompt, seed, settings, owner_id, player_name)
     VALUES ($1, $2, $3, $4, $5, $6, $7, COALESCE($8, 'you')) RETURNING ${storyColumns}`,
    [fields.title, fields.setting, fields.instructions ?? null, fields.systemPrompt ?? null, fields.seed, fields.settings ?? {}, fields.ownerId ?? null, fields.playerName ?? null],
  );
  return toStory(rows[0]!);
}

/** Renames the player; bumps the story version so that open views refresh. */
export async function setPlayerName(db: Queryable, storyId: string, playerName: string): Promise<StoryRow> {
  if (!isUuid(storyId)) throw storyNotFound(storyId);
  const { rows } = await db.query<StoryRecord>(
    `UPDATE stories SET player_name = $2, version = version + 1, updated_at = now() WHERE id = $1 RETURNING ${storyColumns}`,
    [storyId, playerName],
  );
  if (!rows[0]) throw storyNotFound(storyId);
  return toStory(rows[0]);
}

/** Merges book-wide lore settings into stories.settings.lore in one statement (no lost update). */
export async function setStoryLoreSettings(db: Queryable, storyId: string, settings: Record<string, number | boolean>): Promise<StoryRow> {
  if (!isUuid(storyId)) throw storyNotFound(storyId);
  const { rows } = await db.query<StoryRecord>(
    `UPDATE stories SET settings = jsonb_set(settings, '{lore}', coalesce(settings -> 'lore', '{}'::jsonb) || $2::jsonb),
                        version = version + 1, updated_at = now()
      WHERE id = $1 RETURNING ${storyColumns}`,
    [storyId, JSON.stringify(settings)],
  );
  if (!rows[0]) throw storyNotFound(storyId);
  return toStory(rows[0]);
}

export async function findStory(db: Queryable, storyId: string): Promise<StoryRow | undefined> {
  if (!isUuid(storyId)) return undefined;
  const { rows } = await db.query<StoryRecord>(`SELECT ${storyColumns} FROM stories WHERE id = $1`, [storyId]);
  return rows[0] ? toStory(rows[0]) : undefined;
}

export async function getStory(db: Queryable, storyId: string): Promise<StoryRow> {
  const story = await findStory(db, storyId);
  if (!story) throw storyNotFound(storyId);
  return story;
}

/**
 * The first lock of every story write (lock order: story → scene → character → relationship).
 * Writes that keep the story's key (turns, rewinds, status changes: none changes `id`) take
 * it FOR NO KEY UPDATE, which still excludes each other and FOR SHARE but not the FOR KEY
 * SHARE that inserting a row referencing the story takes — so a background job landing its
 * summary or reflection never makes a turn wait. Deleting the story takes FOR UPDATE.
 */
export async function lockStoryForWrite(tx: Queryable, storyId: string, strength: 'no key update' | 'delete' = 'no key update'): Promise<StoryRow> {
  if (!isUuid(storyId)) throw storyNotFound(storyId);
  const lock = strength === 'delete' ? 'FOR UPDATE' : 'FOR NO KEY UPDATE';
  const { rows } = await measureLockWait('story', () =>
    tx.query<StoryRecord>(`SELECT ${storyColumns} FROM stories WHERE id = $1 ${lock}`, [storyId]),
  );
  if (!rows[0]) throw storyNotFound(storyId);
  return toStory(rows[0]);
}

/** What a turn's commit checks once it holds the story and the turn. */
export interface LockedForCommit {
  story: { status: string; headSceneId: string | null };
  /** undefined: the story has no such turn. */
  turn?: { status: string; leaseOwner: string | null };
}

/**
 * lockStoryForWrite and the turn row FOR UPDATE, story first (the lock order), in one
 * statement: the turn is locked only once the story is (EXISTS reads the story's CTE), and a
 * row locked in READ COMMITTED is read as its latest committed version, so a takeover that
 * committed while this waited for the story is seen, as a statement of its own would see it.
 */
export async function lockStoryAndTurn(tx: Queryable, storyId: string, turnId: string): Promise<LockedForCommit> {
  if (!isUuid(storyId)) throw storyNotFound(storyId);
  const { rows } = await measureLockWait('story', () =>
    tx.query<{ story_status: string; head_scene_id: string | null; turn_status: string | null; lease_owner: string | null }>(
      `WITH story AS (SELECT status, head_scene_id FROM stories WHERE id = $1 FOR NO KEY UPDATE),
            turn AS (SELECT status, lease_owner FROM turns WHERE story_id = $1 AND id = $2 AND EXISTS (SELECT 1 FROM story) FOR UPDATE)
       SELECT s.status AS story_status, s.head_scene_id, t.status AS turn_status, t.lease_owner FROM story s LEFT JOIN turn t ON true`,
      [storyId, turnId],
    ),
  );
  const row = rows[0];
  if (!row) throw storyNotFound(storyId);
  return {
    story: { status: row.story_status, headSceneId: row.head_scene_id },
    ...(row.turn_status === null ? {} : { turn: { status: row.turn_status, leaseOwner: row.lease_owner } }),
  };
}

/**
 * lockStoryForWrite's FOR NO KEY UPDATE taken by a write to the row that changes nothing (see
 * decideClaim for why): an UPDATE of non-key columns takes exactly that lock, waits for it the
 * same way and returns the newest row, in one statement instead of a lock and a touch.
 */
export async function lockAndTouchStory(tx: Queryable, storyId: string): Promise<StoryRow> {
  if (!isUuid(storyId)) throw storyNotFound(storyId);
  const { rows } = await measureLockWait('story', () =>
    tx.query<StoryRecord>(`UPDATE stories SET updated_at = updated_at WHERE id = $1 RETURNING ${storyColumns}`, [storyId]),
  );
  if (!rows[0]) throw storyNotFound(storyId);
  return toStory(rows[0]);
}

export async function listStories(db: Queryable, options: { limit?: number; storyIds?: string[] } = {}): Promise<(StoryRow & { sceneCount: number; headSceneNumber: number | null })[]> {
  const { rows } = await db.query<StoryRecord & { scene_count: number; head_scene_number: number | null }>(
    `SELECT ${storyColumns.split(', ').map((c) => `s.${c}`).join(', ')},
            (SELECT count(*)::int FROM scenes sc WHERE sc.story_id = s.id) AS scene_count,
            (SELECT scene_number FROM scenes h WHERE h.story_id = s.id AND h.id = s.head_scene_id) AS head_scene_number
       FROM stories s
      WHERE ($2::uuid[] IS NULL OR s.id = ANY($2::uuid[]))
      ORDER BY s.updated_at DESC
      LIMIT $1`,
    [options.limit ?? 100, options.storyIds ?? null],
  );
  return rows.map((row) => ({ ...toStory(row), sceneCount: row.scene_count, headSceneNumber: row.head_scene_number }));
}

/** Moves the head and bumps the version in one statement. */
export async function setStoryHead(tx: Queryable, storyId: string, headSceneId: string): Promise<number> {
  const { rows } = await tx.query<{ version: number }>(
    `UPDATE stories SET head_scene_id = $2, version = version + 1, updated_at = now() WHERE id = $1 RETURNING version`,
    [storyId, headSceneId],
  );
  return Number(rows[0]!.version);
}

/**
 * Serialises imports of one file (by its hash) until the transaction ends, so that two
 * imports of the same file at once cannot both find no earlier copy.
 */
export async function lockImportHash(tx: Queryable, importHash: string): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`import:${importHash}`]);
}

/** The newest story imported from a file with this hash (among the owner's, when one is given). */
export async function findStoryByImportHash(db: Queryable, importHash: string, ownerId?: string): Promise<{ id: string; title: string } | undefined> {
  const { rows } = await db.query<{ id: string; title: string }>(
    `SELECT id, title FROM stories WHERE import_hash = $1 AND ($2::uuid IS NULL OR owner_id = $2) ORDER BY created_at DESC LIMIT 1`,
    [importHash, ownerId ?? null],
  );
  return rows[0];
}

export async function setStoryImportHash(tx: Queryable, storyId: string, importHash: string): Promise<void> {
  await tx.query(`UPDATE stories SET import_hash = $2 WHERE id = $1`, [storyId, importHash]);
}

/** Deletes the story; every row that belongs to it goes with it (ON DELETE CASCADE). */
export async function deleteStoryRow(tx: Queryable, storyId: string): Promise<void> {
  await tx.query(`DELETE FROM stories WHERE id = $1`, [storyId]);
}

export async function setStoryStatus(tx: Queryable, storyId: string, status: 'active' | 'archived'): Promise<void> {
  await tx.query(`UPDATE stories SET status = $2, version = version + 1, updated_at = now() WHERE id = $1`, [storyId, status]);
}

interface SceneRecord {
  id: string;
  story_id: string;
  parent_scene_id: string | null;
  scene_number: number;
  turn_id: string | null;
  choice_number: number | null;
  instruction: string | null;
  content: string;
  raw_output: string | null;
  provider: string | null;
  model: string | null;
  created_at: Date;
  choices: ChoiceRow[] | null;
}

const sceneSelect = `
  SELECT s.id, s.story_id, s.parent_scene_id, s.scene_number, s.turn_id, s.choice_number, s.instruction,
         s.content, s.raw_output, s.provider, s.model, s.created_at,
         (SELECT json_agg(json_build_object('number', c.choice_number, 'content', c.content, 'selected', c.selected) ORDER BY c.choice_number)
            FROM choices c WHERE c.story_id = s.story_id AND c.scene_id = s.id) AS choices
    FROM scenes s`;

function toScene(row: SceneRecord): SceneRow {
  return {
    id: row.id,
    storyId: row.story_id,
    parentSceneId: row.parent_scene_id,
    sceneNumber: row.scene_number,
    turnId: row.turn_id,
    choiceNumber: row.choice_number,
    instruction: row.instruction,
    content: row.content,
    rawOutput: row.raw_output,
    provider: row.provider,
    model: row.model,
    createdAt: row.created_at,
    choices: row.choices ?? [],
  };
}

export async function findScene(db: Queryable, storyId: string, sceneId: string): Promise<SceneRow | undefined> {
  if (!isUuid(sceneId)) return undefined;
  const { rows } = await db.query<SceneRecord>(`${sceneSelect} WHERE s.story_id = $1 AND s.id = $2`, [storyId, sceneId]);
  return rows[0] ? toScene(rows[0]) : undefined;
}

export interface SceneCharacterLink {
  id: string;
  name: string;
  role: string;
  importance: number;
}

/**
 * The row of scene `sceneParam` of story `storyParam` with its choices and the characters
 * linked to it (most important first), for toSceneWithCharacters; a statement that writes
 * the scene may end with it (the turn's commit does).
 */
export function sceneWithCharactersSql(storyParam: string, sceneParam: string): string {
  return `SELECT x.*,
                (SELECT json_agg(json_build_object('id', c.id, 'name', c.name, 'role', sc.role, 'importance', sc.importance) ORDER BY sc.importance DESC, c.name)
                   FROM scene_characters sc JOIN characters c ON c.story_id = sc.story_id AND c.id = sc.character_id
                  WHERE sc.story_id = ${storyParam} AND sc.scene_id = ${sceneParam}) AS scene_characters
           FROM (${sceneSelect} WHERE s.story_id = ${storyParam} AND s.id = ${sceneParam}) x`;
}

export type SceneWithCharactersRecord = SceneRecord & { scene_characters: SceneCharacterLink[] | null };

export function toSceneWithCharacters(row: SceneWithCharactersRecord): { scene: SceneRow; characters: SceneCharacterLink[] } {
  return { scene: toScene(row), characters: row.scene_characters ?? [] };
}

/** A scene with its choices and the characters linked to it (most important first), in one statement. */
export async function getSceneWithCharacters(db: Queryable, storyId: string, sceneId: string): Promise<{ scene: SceneRow; characters: SceneCharacterLink[] }> {
  const { rows } = isUuid(sceneId) ? await db.query<SceneWithCharactersRecord>(sceneWithCharactersSql('$1', '$2'), [storyId, sceneId]) : { rows: [] };
  const row = rows[0];
  if (!row) throw new AppError('not_found', `No scene ${sceneId} in story ${storyId}.`, { details: { storyId, sceneId } });
  return toSceneWithCharacters(row);
}

export async function getScene(db: Queryable, storyId: string, sceneId: string): Promise<SceneRow> {
  const scene = await findScene(db, storyId, sceneId);
  if (!scene) throw new AppError('not_found', `No scene ${sceneId} in story ${storyId}.`, { details: { storyId, sceneId } });
  return scene;
}

/** The path from the root to `sceneId`, oldest first; `limit` keeps only the newest scenes. */
export async function getPathTo(db: Queryable, storyId: string, sceneId: string, limit = 10_000): Promise<SceneRow[]> {
  const { rows } = await db.query<SceneRecord>(
    `${headPathCte('$1', '$2', { name: 'path', depthParam: '$3' })}
     ${sceneSelect} JOIN path ON path.id = s.id WHERE s.story_id = $1 ORDER BY s.scene_number`,
    [storyId, sceneId, limit],
  );
  return rows.map(toScene);
}

/** Every scene of the story (the tree), ordered by depth then creation. */
export async function getSceneTree(db: Queryable, storyId: string): Promise<SceneRow[]> {
  const { rows } = await db.query<SceneRecord>(`${sceneSelect} WHERE s.story_id = $1 ORDER BY s.scene_number, s.created_at, s.id`, [storyId]);
  return rows.map(toScene);
}

export async function countSiblings(db: Queryable, storyId: string, parentSceneId: string | null): Promise<number> {
  // `= $2` or IS NULL, not IS NOT DISTINCT FROM, which no index serves: that scanned every
  // scene of the story once per turn (2 ms at 2,000 scenes, bench/profile-world-turn.ts).
  const { rows } = await db.query<{ n: number }>(
    parentSceneId === null
      ? `SELECT count(*)::int AS n FROM scenes WHERE story_id = $1 AND parent_scene_id IS NULL`
      : `SELECT count(*)::int AS n FROM scenes WHERE story_id = $1 AND parent_scene_id = $2`,
    parentSceneId === null ? [storyId] : [storyId, parentSceneId],
  );
  return rows[0]!.n;
}

export interface NewScene {
  /** Chosen by the caller (randomUUID), so that writes sent with the insert can name the scene. */
  id: string;
  storyId: string;
  parentSceneId: string | null;
  parentSceneNumber: number | null;
  turnId: string;
  choiceNumber: number | null;
  instruction: string | null;
  content: string;
  rawOutput: string;
  provider: string;
  model: string;
  choices: string[];
  /** The scene's embedding, computed before the transaction (null when the embedder is down: back-filled later). */
  embedding: number[] | null;
}

/** Inserts the scene, its choices and the caller's parts, and marks the parent's choice as taken. */
export async function insertSceneWithChoices(tx: Queryable, scene: NewScene, parts: readonly StatementPart[] = []): Promise<{ id: string; sceneNumber: number }> {
  // One statement: the scene with its embedding (inserted with it, not updated after: an update
  // writes every index entry again), its choices, the parent's choice marked as taken, and the
  // caller's parts (the scene's prompt, memories, facts), whose foreign keys to the new scene
  // are checked at the statement's end, when it exists. The id is the caller's, so that the
  // parts can name the scene.
  const { sql, params } = withStatementParts(
    {
      sql: `WITH scene AS (
       INSERT INTO scenes (id, story_id, parent_scene_id, parent_scene_number, scene_number, turn_id, choice_number, instruction, content, raw_output, provider, model, embedding,
                           state_through_seq)
       VALUES ($13, $1, $2, $3::int, COALESCE($3::int, 0) + 1, $4, $5, $6, $7, $8, $9, $10, $12::real[], ${parentStateThroughSeqSql('$1', '$2::uuid')})
       RETURNING id, scene_number),
     offered AS (
       INSERT INTO choices (story_id, scene_id, choice_number, content)
       SELECT $1, scene.id, ordinality, content FROM scene, unnest($11::text[]) WITH ORDINALITY AS t(content, ordinality)),
     taken AS (
       UPDATE choices SET selected = true WHERE story_id = $1 AND scene_id = $2 AND choice_number = $5)
     SELECT id, scene_number FROM scene`,
      params: [
        scene.storyId,
        scene.parentSceneId,
        scene.parentSceneNumber,
        scene.turnId,
        scene.choiceNumber,
        scene.instruction,
        scene.content,
        scene.rawOutput,
        scene.provider,
        scene.model,
        scene.choices,
        optionalEmbeddingParam(scene.embedding),
        scene.id,
      ],
    },
    parts,
  );
  const { rows } = await tx.query<{ id: string; scene_number: number }>(sql, params);
  const inserted = rows[0]!;
  return { id: inserted.id, sceneNumber: inserted.scene_number };
}

export async function markChoiceSelected(tx: Queryable, storyId: string, sceneId: string, choiceNumber: number): Promise<void> {
  await tx.query(`UPDATE choices SET selected = true WHERE story_id = $1 AND scene_id = $2 AND choice_number = $3`, [storyId, sceneId, choiceNumber]);
}
