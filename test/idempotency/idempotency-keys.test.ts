import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/index.js';
import { deleteExpiredIdempotencyKeys, idempotentTransaction, runIdempotent, recordIdempotentAnswer } from '../../src/idempotency/index.js';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';

let database: TestServerDatabase;
beforeAll(async () => {
  database = await createServerTestDatabase();
  await database.db.query('CREATE TABLE effects (id serial PRIMARY KEY, label text NOT NULL)');
});
afterAll(async () => database?.drop());

const effects = async (label: string) => Number((await database.db.query<{ n: string }>('SELECT count(*) AS n FROM effects WHERE label = $1', [label])).rows[0]!.n);
const write = (label: string) => async (tx: { query: typeof database.db.query }) => {
  await tx.query('INSERT INTO effects (label) VALUES ($1)', [label]);
  return { label, at: new Date(0) };
};

describe('idempotency keys', () => {
  it('replays the first answer (through JSON) and writes once', async () => {
    const claim = { scope: 'test', key: 'k-replay', requestHash: 'h1' };
    const first = await idempotentTransaction(database.db, claim, write('replay'));
    const second = await idempotentTransaction(database.db, claim, write('replay'));
    expect(first.at).toBeInstanceOf(Date);
    expect(second).toEqual({ label: 'replay', at: new Date(0).toISOString() });
    expect(await effects('replay')).toBe(1);
  });

  it('refuses the same key with a different request hash, writing nothing', async () => {
    const claim = { scope: 'test', key: 'k-mismatch', requestHash: 'h1' };
    await idempotentTransaction(database.db, claim, write('mismatch'));
    await expect(idempotentTransaction(database.db, { ...claim, requestHash: 'h2' }, write('mismatch'))).rejects.toMatchObject({ code: 'idempotency_mismatch' });
    expect(await effects('mismatch')).toBe(1);
  });

  it('keeps the same key apart in different scopes', async () => {
    await idempotentTransaction(database.db, { scope: 'alice', key: 'k-scope', requestHash: 'h' }, write('scope'));
    await idempotentTransaction(database.db, { scope: 'bob', key: 'k-scope', requestHash: 'h' }, write('scope'));
    expect(await effects('scope')).toBe(2);
  });

  it('lets racing twins write once: the loser rolls back and replays the winner', async () => {
    const claim = { scope: 'test', key: 'k-race', requestHash: 'h' };
    const answers = await Promise.all(Array.from({ length: 8 }, () => runIdempotent(database.db, claim, () =>
      withTransaction(database.db, {}, async (tx) => {
        const answer = await write('race')(tx);
        await new Promise((resolve) => setTimeout(resolve, 50));
        await recordIdempotentAnswer(tx, claim, answer);
        return answer;
      }),
    )));
    expect(answers).toHaveLength(8);
    expect(await effects('race')).toBe(1);
  });

  it('forgets keys past their lifetime and sweeps them', async () => {
    const claim = { scope: 'test', key: 'k-old', requestHash: 'h' };
    await idempotentTransaction(database.db, claim, write('old'));
    await database.db.query(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE idempotency_key = 'k-old'`);
    // An expired key is a new request again (and its row is replaced).
    await idempotentTransaction(database.db, claim, write('old'));
    expect(await effects('old')).toBe(2);
    await database.db.query(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE idempotency_key = 'k-old'`);
    expect(await deleteExpiredIdempotencyKeys(database.db)).toBeGreaterThanOrEqual(1);
    expect(Number((await database.db.query<{ n: string }>(`SELECT count(*) AS n FROM idempotency_keys WHERE idempotency_key = 'k-old'`)).rows[0]!.n)).toBe(0);
  });
});
