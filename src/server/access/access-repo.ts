import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../../db/index.js';
import { AppError } from '../../errors.js';
import { isUuid } from '../../story/story-repo.js';

/** The built-in user (migration 0003): requests act as it while auth is off; it owns unowned stories. */
export const localUserId = '00000000-0000-0000-0000-000000000001';

export type StoryRole = 'owner' | 'player' | 'reader';
export type MemberRole = 'player' | 'reader';

export interface User {
  id: string;
  name: string;
}

export interface TokenInfo {
  id: string;
  user: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const userNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export async function findUserByName(db: Queryable, name: string): Promise<User | undefined> {
  const { rows } = await db.query<User>('SELECT id, name FROM users WHERE lower(name) = lower($1)', [name]);
  return rows[0];
}

export async function ensureUser(db: Queryable, name: string): Promise<User> {
  if (!userNamePattern.test(name)) {
    throw new AppError('validation', 'A user name is 1–64 letters, digits, dots, dashes or underscores, starting with a letter or digit.', {
      details: { field: 'user' },
    });
  }
  // ON CONFLICT DO NOTHING then read: two creators racing both end with the one row.
  await db.query('INSERT INTO users (name) VALUES ($1) ON CONFLICT ((lower(name))) DO NOTHING', [name]);
  return (await findUserByName(db, name))!;
}

/** A new token's text (256 random bits). */
export function newTokenText(): string {
  return `lw_${randomBytes(32).toString('base64url')}`;
}

/** Creates a token for the user; only its hash is stored, so the returned text is shown once. */
export async function createToken(db: Queryable, userId: string, token: string = newTokenText()): Promise<{ token: string; id: string; prefix: string }> {
  const prefix = token.slice(0, 10);
  const { rows } = await db.query<{ id: string }>('INSERT INTO api_tokens (user_id, token_sha256, prefix) VALUES ($1, $2, $3) RETURNING id', [
    userId,
    hashToken(token),
    prefix,
  ]);
  return { token, id: rows[0]!.id, prefix };
}

export async function listTokens(db: Queryable): Promise<TokenInfo[]> {
  const { rows } = await db.query<{ id: string; name: string; prefix: string; created_at: Date; last_used_at: Date | null; revoked_at: Date | null }>(
    `SELECT t.id, u.name, t.prefix, t.created_at, t.last_used_at, t.revoked_at
       FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY t.created_at`,
  );
  return rows.map((row) => ({
    id: row.id,
    user: row.name,
    prefix: row.prefix,
    createdAt: new Date(row.created_at),
    lastUsedAt: row.last_used_at ? new Date(row.last_used_at) : null,
    revokedAt: row.revoked_at ? new Date(row.revoked_at) : null,
  }));
}

/** Revokes by token id or by the token's prefix; returns how many were revoked. */
export async function revokeToken(db: Queryable, idOrPrefix: string): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE api_tokens SET revoked_at = now()
      WHERE revoked_at IS NULL AND (($1::text ~ '^[0-9a-f-]{36}$' AND id::text = $1) OR prefix = $1)`,
    [idOrPrefix],
  );
  return rowCount;
}

export async function anyActiveToken(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ exists: boolean }>('SELECT EXISTS (SELECT 1 FROM api_tokens WHERE revoked_at IS NULL) AS exists');
  return rows[0]!.exists;
}

export async function findUserByToken(db: Queryable, token: string): Promise<User | undefined> {
  const { rows } = await db.query<User & { token_id: string; stale: boolean }>(
    `SELECT u.id, u.name, t.id AS token_id, (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute') AS stale
       FROM api_tokens t JOIN users u ON u.id = t.user_id
      WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL`,
    [hashToken(token)],
  );
  const row = rows[0];
  if (!row) return undefined;
  // At most one write a minute per token: a busy client must not turn every read into a row update.
  if (row.stale) await db.query('UPDATE api_tokens SET last_used_at = now() WHERE id = $1', [row.token_id]);
  return { id: row.id, name: row.name };
}

/** The user's role in a story, or undefined when they may not see it (or it does not exist). */
export async function findStoryRole(db: Queryable, userId: string, storyId: string): Promise<StoryRole | undefined> {
  if (!isUuid(storyId)) return undefined;
  const { rows } = await db.query<{ role: StoryRole | null }>(
    `SELECT CASE WHEN COALESCE(s.owner_id, $3::uuid) = $1 THEN 'owner' ELSE m.role END AS role
       FROM stories s LEFT JOIN story_members m ON m.story_id = s.id AND m.user_id = $1
      WHERE s.id = $2`,
    [userId, storyId, localUserId],
  );
  return rows[0]?.role ?? undefined;
}

/** Ids of the stories a user owns or is a member of, newest first. */
export async function listVisibleStoryIds(db: Queryable, userId: string, limit = 100): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT s.id FROM stories s
      WHERE COALESCE(s.owner_id, $2::uuid) = $1
         OR EXISTS (SELECT 1 FROM story_members m WHERE m.story_id = s.id AND m.user_id = $1)
      ORDER BY s.updated_at DESC LIMIT $3`,
    [userId, localUserId, limit],
  );
  return rows.map((row) => row.id);
}

export async function upsertStoryMember(db: Queryable, storyId: string, userId: string, role: MemberRole): Promise<void> {
  await db.query(
    `INSERT INTO story_members (story_id, user_id, role) VALUES ($1, $2, $3)
     ON CONFLICT (story_id, user_id) DO UPDATE SET role = EXCLUDED.role`,
    [storyId, userId, role],
  );
}

export async function listStoryMembers(db: Queryable, storyId: string): Promise<{ user: string; role: StoryRole }[]> {
  const { rows } = await db.query<{ name: string; role: StoryRole }>(
    `SELECT u.name, 'owner' AS role FROM stories s JOIN users u ON u.id = COALESCE(s.owner_id, $2::uuid) WHERE s.id = $1
     UNION ALL
     SELECT u.name, m.role FROM story_members m JOIN users u ON u.id = m.user_id WHERE m.story_id = $1`,
    [storyId, localUserId],
  );
  return rows.map((row) => ({ user: row.name, role: row.role }));
}
