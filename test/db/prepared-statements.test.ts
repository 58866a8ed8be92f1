import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction, type Database } from '../../src/db/index.js';
import { StatementNames } from '../../src/db/prepared-statements.js';
import { createEmbeddedTestDatabase, createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';

/** The statements this session (connection) holds prepared, by their text. */
async function preparedTexts(db: Database): Promise<string[]> {
  const connection = await db.acquire();
  try {
    const { rows } = await connection.query<{ statement: string }>(`SELECT statement FROM pg_prepared_statements WHERE name LIKE 'lw\\_%' AND $1::int = 1`, [1]);
    return rows.map((row) => row.statement);
  } finally {
    connection.release();
  }
}

const backends: [string, () => Promise<{ db: Database; close: () => Promise<void> }>][] = [
  [
    'embedded',
    async () => {
      const db = await createEmbeddedTestDatabase();
      return { db, close: () => db.close() };
    },
  ],
  [
    'server',
    async () => {
      // One connection, so that what one statement prepared is what the next one sees.
      const server: TestServerDatabase = await createServerTestDatabase({ poolSize: 1 });
      return { db: server.db, close: () => server.drop() };
    },
  ],
];

describe.each(backends)('statements with parameters are prepared once per connection (%s)', (_name, open) => {
  let db: Database;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ db, close } = await open());
    await db.query(`CREATE TABLE probe (id int PRIMARY KEY, label text, tags text[], doc jsonb, at timestamptz, v real[])`);
  });
  afterAll(async () => close());

  const select = `SELECT * FROM probe WHERE id = ANY($1::int[]) ORDER BY id`;

  it('sends each value as the unprepared statement did, and reads rows back the same way, call after call', async () => {
    const insert = `INSERT INTO probe (id, label, tags, doc, at, v) VALUES ($1, $2, $3, $4, $5, $6)`;
    await db.query(insert, [1, 'one', ['a', 'b, c'], { nested: [1, 'x'] }, '2026-03-04T05:06:07.123Z', [0.5, -1.25]]);
    await db.query(insert, [2, null, [], null, new Date('2026-01-01T00:00:00Z'), null]);
    for (let i = 0; i < 7; i++) {
      const { rows, rowCount } = await db.query<Record<string, unknown>>(select, [[1, 2]]);
      expect(rowCount).toBe(2);
      expect(rows[0]).toMatchObject({ id: 1, label: 'one', tags: ['a', 'b, c'], doc: { nested: [1, 'x'] }, v: [0.5, -1.25] });
      expect(new Date(rows[0]!['at'] as string).toISOString()).toBe('2026-03-04T05:06:07.123Z');
      expect(rows[1]).toMatchObject({ id: 2, label: null, tags: [], doc: null, v: null });
    }
    const updated = await db.query(`UPDATE probe SET label = $2 WHERE id = $1`, [2, 'two']);
    expect(updated.rowCount).toBe(1);
    expect(await preparedTexts(db)).toEqual(expect.arrayContaining([select, insert]));
  });

  it('a statement whose table changed shape is prepared afresh: sent again outside a transaction, failed once inside one', async () => {
    await db.query(select, [[1]]);
    await db.query(`ALTER TABLE probe ADD COLUMN extra int DEFAULT 7`);
    const { rows } = await db.query<Record<string, unknown>>(select, [[1]]);
    expect(rows[0]).toMatchObject({ id: 1, extra: 7 });

    await db.query(`ALTER TABLE probe ADD COLUMN more int DEFAULT 8`);
    await expect(withTransaction(db, { maxAttempts: 1 }, (tx) => tx.query(select, [[1]]))).rejects.toMatchObject({});
    const again = await withTransaction(db, { maxAttempts: 1 }, (tx) => tx.query<Record<string, unknown>>(select, [[1]]));
    expect(again.rows[0]).toMatchObject({ id: 1, extra: 7, more: 8 });
  });

  it('an error in a prepared statement leaves the connection usable', async () => {
    const failing = `SELECT 1 / $1::int AS x`;
    expect((await db.query<{ x: number }>(failing, [1])).rows[0]!.x).toBe(1);
    await expect(db.query(failing, [0])).rejects.toMatchObject({ code: '22012' });
    expect((await db.query<{ x: number }>(failing, [2])).rows[0]!.x).toBe(0);
    await expect(db.query(`SELECT FROM WHERE $1`, [1])).rejects.toMatchObject({ code: '42601' });
    expect((await db.query<{ x: number }>(failing, [1])).rows[0]!.x).toBe(1);
  });
});

describe('statements through a pooler that loses them (server)', () => {
  let server: TestServerDatabase;
  beforeAll(async () => {
    server = await createServerTestDatabase({ poolSize: 1 });
  });
  afterAll(async () => server.drop());

  it('sends every statement unnamed from the first one that the server does not know', async () => {
    const select = `SELECT $1::int + 1 AS n`;
    expect((await server.db.query<{ n: number }>(select, [1])).rows[0]!.n).toBe(2);
    expect(await preparedTexts(server.db)).toContain(select);
    // As PgBouncer in transaction mode does: the next statement lands on a connection without it.
    await server.db.query('DEALLOCATE ALL');
    expect((await server.db.query<{ n: number }>(select, [2])).rows[0]!.n).toBe(3);
    expect((await server.db.query<{ n: number }>(`SELECT $1::int * 2 AS n`, [4])).rows[0]!.n).toBe(8);
    expect(await preparedTexts(server.db)).toEqual([]);
  });
});

describe('statement names', () => {
  it('are bounded: texts past the limit run unnamed, known ones keep their name', () => {
    const names = new StatementNames(2);
    const a = names.nameOf('SELECT $1');
    const b = names.nameOf('SELECT $1, $2');
    expect(a).toMatch(/^lw_/);
    expect(b).not.toBe(a);
    expect(names.nameOf('SELECT $1, $2, $3')).toBeUndefined();
    expect(names.nameOf('SELECT $1')).toBe(a);
  });

  it('a forgotten text gets a new name, so connections that prepared the old one prepare it again', () => {
    const names = new StatementNames();
    const first = names.nameOf('SELECT $1');
    names.forget('SELECT $1');
    expect(names.nameOf('SELECT $1')).not.toBe(first);
  });
});
