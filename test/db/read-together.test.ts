import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTogether, type Database } from '../../src/db/index.js';
import { createTestDatabase, type BackendName } from '../helpers/db.js';

describe.each<BackendName>(['server', 'embedded'])('readTogether on the %s backend', (backend) => {
  let db: Database;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ db, dispose } = await createTestDatabase(backend));
  });
  afterAll(async () => dispose());

  const numbers = (from: number, to: number, descending: boolean) => ({
    sql: `SELECT n, 'n' || n AS label, n % 2 = 0 AS even FROM generate_series($1::int, $2::int) AS n ORDER BY n ${descending ? 'DESC' : ''}`,
    params: [from, to],
    decode: (rows: { n: number; label: string; even: boolean }[]) => rows,
  });
  const ids = {
    sql: `SELECT id, $1::text AS tag FROM (VALUES ('8f14e45f-ceea-4e7a-9b7e-1c0a4a7e6b3d'::uuid)) AS v(id) WHERE $2::boolean`,
    params: ['kept', true],
    decode: (rows: { id: string; tag: string }[]) => rows.map((row) => `${row.tag}:${row.id}`),
  };

  it('answers each read with its own rows in its own order, with the values a read of its own gives', async () => {
    const [down, up, tagged] = await readTogether(db, [numbers(1, 5, true), numbers(7, 9, false), ids]);
    expect(down.map((row) => row.n)).toEqual([5, 4, 3, 2, 1]);
    expect(up).toEqual([
      { n: 7, label: 'n7', even: false },
      { n: 8, label: 'n8', even: true },
      { n: 9, label: 'n9', even: false },
    ]);
    expect(tagged).toEqual(['kept:8f14e45f-ceea-4e7a-9b7e-1c0a4a7e6b3d']);
    const [alone] = await readTogether(db, [numbers(7, 9, false)]);
    expect(alone).toEqual(up);
  });

  it('gives a read with no rows an empty list', async () => {
    const [none, some] = await readTogether(db, [numbers(3, 1, false), { ...ids, params: ['gone', false] }]);
    expect(none).toEqual([]);
    expect(some).toEqual([]);
  });
});
