import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { hashToken } from '../../src/server/access/access-repo.js';

const run = promisify(execFile);
let database: TestServerDatabase;

beforeAll(async () => {
  database = await createServerTestDatabase({ poolSize: 1 });
});
afterAll(async () => database?.drop());

async function livingworld(...args: string[]) {
  return run(process.execPath, ['--import', 'tsx', path.resolve('src/cli/main.ts'), ...args], {
    env: { ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'warn' },
    timeout: 30_000,
  });
}

describe('livingworld token', () => {
  it('creates a token shown once and stored only as its hash, lists it without the secret, and revokes it', async () => {
    const created = JSON.parse((await livingworld('token', 'create', '--user', 'alice', '--json')).stdout) as { token: string; id: string; user: string };
    expect(created.user).toBe('alice');
    expect(created.token).toMatch(/^lw_[A-Za-z0-9_-]{40,}$/);
    const { rows } = await database.db.query<{ token_sha256: string }>('SELECT token_sha256 FROM api_tokens WHERE id = $1', [created.id]);
    expect(rows[0]!.token_sha256).toBe(hashToken(created.token));
    const { rows: leaked } = await database.db.query(`SELECT 1 FROM api_tokens WHERE token_sha256 = $1 OR prefix = $1`, [created.token]);
    expect(leaked).toHaveLength(0);

    const listed = (await livingworld('token', 'list')).stdout;
    expect(listed).toContain('alice');
    expect(listed).toContain(created.id);
    expect(listed).not.toContain(created.token);

    expect((await livingworld('token', 'revoke', created.id)).stdout).toContain('Revoked 1 token');
    const after = JSON.parse((await livingworld('token', 'list', '--json')).stdout) as { tokens: { id: string; revokedAt: string | null }[] };
    expect(after.tokens.find((t) => t.id === created.id)?.revokedAt).not.toBeNull();
    await expect(livingworld('token', 'revoke', created.id)).rejects.toMatchObject({ stderr: expect.stringContaining('No active token') });
    await expect(livingworld('token', 'create', '--user', 'not a name!')).rejects.toMatchObject({ stderr: expect.stringContaining('user name') });
  });
});
