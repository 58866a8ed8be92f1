import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { embeddingParam, optionalEmbeddingParam } from '../../src/memory/embedding-param.js';
import { createTestDatabase, type BackendName } from '../helpers/db.js';

describe('embeddingParam', () => {
  it('refuses a vector with a non-finite number and passes a missing one as NULL', () => {
    expect(() => embeddingParam([0.5, Number.NaN])).toThrow(/non-finite/);
    expect(() => embeddingParam([Number.POSITIVE_INFINITY])).toThrow(/non-finite/);
    expect(optionalEmbeddingParam(null)).toBeNull();
    expect(optionalEmbeddingParam(undefined)).toBeNull();
  });
});

describe.each<BackendName>(['server', 'embedded'])('embedding parameters on the %s backend', (backend) => {
  let db: Database;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ db, dispose } = await createTestDatabase(backend));
  });
  afterAll(async () => dispose());

  it('arrive as the real[] they are, each number rounded to float4 only, in a prepared and in an unnamed statement', async () => {
    const vector = Array.from({ length: 384 }, (_, i) => Math.sin(i * 0.37) / 7 - 1e-9 * i);
    const expected = vector.map((value) => Math.fround(value));
    const { rows } = await db.query<{ v: number[]; n: number }>('SELECT $1::real[] AS v, array_length($1::real[], 1) AS n', [embeddingParam(vector)]);
    expect(rows[0]!.n).toBe(384);
    // Read back as text, each is the shortest decimal of its float4.
    expect(rows[0]!.v.map((value) => Math.fround(value))).toEqual(expected);
    // Past the bound on prepared names (400 texts) a statement runs unnamed: embeddings still go in binary.
    for (let i = 0; i < 401; i++) await db.query(`SELECT $1::int + ${i} AS n`, [i]);
    const tag = `t${Math.random()}`;
    const { rows: pairs } = await db.query<{ tag: string; first: number; second: number }>(
      `SELECT $1::text AS tag, ($2::real[])[2] AS first, ($3::real[])[1] AS second -- ${tag}`,
      [tag, embeddingParam([0.25, -0.125]), embeddingParam([3.5])],
    );
    expect(pairs[0]).toEqual({ tag, first: -0.125, second: 3.5 });
  });

  it('score against stored rows like the same numbers sent as text', async () => {
    const a = [0.6, 0.8, 0];
    const b = [0.8, 0.6, 0];
    const { rows } = await db.query<{ binary: number; text: number }>(
      `SELECT (SELECT sum(x * y) FROM unnest($1::real[], $2::real[]) AS p(x, y)) AS binary,
              (SELECT sum(x * y) FROM unnest($3::real[], $4::real[]) AS p(x, y)) AS text`,
      [embeddingParam(a), embeddingParam(b), `{${a.join(',')}}`, `{${b.join(',')}}`],
    );
    expect(Number(rows[0]!.binary)).toBeCloseTo(0.96, 6);
    expect(Number(rows[0]!.binary)).toBe(Number(rows[0]!.text));
  });
});
