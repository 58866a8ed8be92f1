import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStatementParts, statementPart, withStatementParts, withTransaction, type Database } from '../../src/db/index.js';
import { createTestDatabase, type BackendName } from '../helpers/db.js';

describe('withStatementParts (no database)', () => {
  it('numbers each part after the statement and the parts before it, and joins an opening WITH (RECURSIVE) list', () => {
    const first = statementPart('INSERT INTO t (a, b) VALUES ($1, $2)', ['a', 'b']);
    const second = statementPart('DELETE FROM t WHERE a = $1', ['c']);
    const plain = withStatementParts({ sql: 'SELECT $1::int', params: [7] }, [first, second]);
    expect(plain.sql).toBe('WITH part_1 AS (INSERT INTO t (a, b) VALUES ($2, $3)),\npart_2 AS (DELETE FROM t WHERE a = $4)\nSELECT $1::int');
    expect(plain.params).toEqual([7, 'a', 'b', 'c']);
    expect(withStatementParts({ sql: '  WITH x AS (SELECT $1) SELECT * FROM x', params: [1] }, [second]).sql).toBe(
      'WITH part_1 AS (DELETE FROM t WHERE a = $2),\nx AS (SELECT $1) SELECT * FROM x',
    );
    expect(withStatementParts({ sql: 'WITH RECURSIVE r AS (SELECT 1) SELECT * FROM r', params: [] }, [second]).sql).toBe(
      'WITH RECURSIVE part_1 AS (DELETE FROM t WHERE a = $1),\nr AS (SELECT 1) SELECT * FROM r',
    );
    expect(withStatementParts({ sql: 'SELECT 1', params: [] }, [])).toEqual({ sql: 'SELECT 1', params: [] });
  });
});

describe.each<BackendName>(['server', 'embedded'])('statement parts on the %s backend', (backend) => {
  let db: Database;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ db, dispose } = await createTestDatabase(backend));
    await db.query(`CREATE TABLE parent_rows (id int PRIMARY KEY, label text)`);
    await db.query(`CREATE TABLE child_rows (parent_id int NOT NULL REFERENCES parent_rows (id), label text)`);
  });
  afterAll(async () => dispose());

  it('writes the parts with the statement: rows that name the statement’s own new row pass their foreign key, and the statement’s reply is its own', async () => {
    const { sql, params } = withStatementParts(
      { sql: `WITH made AS (INSERT INTO parent_rows (id, label) VALUES ($1, $2) RETURNING id) SELECT id FROM made`, params: [1, 'first'] },
      [statementPart(`INSERT INTO child_rows (parent_id, label) SELECT $1, unnest($2::text[])`, [1, ['x', 'y']]), statementPart(`INSERT INTO child_rows (parent_id, label) VALUES ($1, $2)`, [1, 'z'])],
    );
    const { rows } = await db.query<{ id: number }>(sql, params);
    expect(rows).toEqual([{ id: 1 }]);
    const children = await db.query<{ label: string }>(`SELECT label FROM child_rows WHERE parent_id = 1 ORDER BY label`);
    expect(children.rows.map((r) => r.label)).toEqual(['x', 'y', 'z']);
  });

  it('fails whole when a part fails: nothing of the statement is written', async () => {
    await expect(
      withTransaction(db, { maxAttempts: 1 }, (tx) =>
        runStatementParts(tx, [statementPart(`INSERT INTO parent_rows (id, label) VALUES ($1, 'kept?')`, [2]), statementPart(`INSERT INTO child_rows (parent_id) VALUES ($1)`, [99])]),
      ),
    ).rejects.toMatchObject({ code: '23503' });
    expect((await db.query(`SELECT 1 FROM parent_rows WHERE id = 2`)).rows).toEqual([]);
  });
});
