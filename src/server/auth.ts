import type { FastifyRequest } from 'fastify';
import type { Queryable } from '../db/index.js';
import { AppError } from '../errors.js';
import { anyActiveToken, findStoryRole, findUserByToken, localUserId, type StoryRole } from './access/access-repo.js';

/** Who a request acts as. `unrestricted`: the local user while auth is off, who may see every story. */
export interface RequestUser {
  id: string;
  name: string;
  unrestricted: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    user: RequestUser;
  }
}

const localUser: RequestUser = { id: localUserId, name: 'local', unrestricted: true };
// How long "is any token defined?" is trusted; a token created meanwhile turns auth on this much later.
const tokenCheckTtlMs = 2_000;

export interface AuthGate {
  /** Auth is on when LIVINGWORLD_AUTH=required or once any token exists. */
  isRequired(): Promise<boolean>;
  authenticate(request: FastifyRequest): Promise<RequestUser>;
}

export function createAuthGate(db: Queryable, mode: 'auto' | 'required'): AuthGate {
  let cached: { value: boolean; at: number } | undefined;
  async function isRequired(): Promise<boolean> {
    if (mode === 'required') return true;
    if (cached && Date.now() - cached.at < tokenCheckTtlMs) return cached.value;
    const value = await anyActiveToken(db);
    cached = { value, at: Date.now() };
    return value;
  }
  return {
    isRequired,
    async authenticate(request) {
      const header = request.headers.authorization;
      const match = typeof header === 'string' ? /^Bearer\s+([A-Za-z0-9_\-.~+/=]{1,200})\s*$/i.exec(header) : null;
      if (!(await isRequired())) return localUser;
      if (!match) {
        throw new AppError('unauthorized', 'This server requires a token: send "Authorization: Bearer <token>" (create one with `livingworld token create --user NAME`).');
      }
      const user = await findUserByToken(db, match[1]!);
      if (!user) throw new AppError('unauthorized', 'The token is not valid or has been revoked.');
      return { ...user, unrestricted: false };
    },
  };
}

const rank: Record<StoryRole, number> = { reader: 1, player: 2, owner: 3 };
const needRank = { read: 1, play: 2, own: 3 } as const;

/**
 * Checks that the user may read, play or own the story. A story the user may not see is
 * answered exactly like a missing one (404), so that ids of other people's stories leak nothing.
 */
export async function authorizeStory(db: Queryable, user: RequestUser, storyId: string, need: keyof typeof needRank): Promise<StoryRole> {
  if (user.unrestricted) return 'owner';
  const role = await findStoryRole(db, user.id, storyId);
  if (!role) throw new AppError('not_found', `No story with id ${storyId}.`, { details: { storyId } });
  if (rank[role] < needRank[need]) {
    const what = need === 'own' ? 'only its owner may do that' : 'you were invited to read it, not to play';
    throw new AppError('forbidden', `You are a ${role} of this story: ${what}.`, { details: { role } });
  }
  return role;
}
