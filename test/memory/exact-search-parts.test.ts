import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openServerDatabase, readMigrations, type Database } from '../../src/db/index.js';
import { loadVectorStore, vectorStoreFor } from '../../src/memory/vector-store.js';
import { createEmptyServerDatabase, createServerTestDatabase, testTransactionDefaults, type TestServerDatabase } from '../helpers/db.js';
import { insertStory } from '../helpers/fixtures.js';

/** Seeded unit vectors, so a failure is reproducible. */
function unitVectors(count: number, dimension: number, seed: number): number[][] {
  let state = seed >>> 0;
  const next = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 4294967296) - 0.5;
  return Array.from({ length: count }, () => {
    const vector = Array.from({ length: dimension }, next);
    const norm = Math.hypot(...vector);
    return vector.map((value) => value / norm);
  });
}

describe('exact search without pgvector, over cube parts (migrations 0014 and 0025)', () => {
  let server: TestServerDatabase;
  let db: Database;
  beforeAll(async () => {
    server = await createServerTestDatabase();
    db = server.db;
  });
  afterAll(async () => server.drop());

  it('is the store a migrated server without pgvector uses', async () => {
    const { rows } = await db.query<{ value: unknown }>(`SELECT value FROM settings WHERE key = 'exact_search'`);
    expect(rows[0]?.value).toBe('cube_parts');
    const store = await loadVectorStore(db);
    expect(store.backend).toBe('exact');
    expect(store.similaritySql('m.embedding', '$1', 100)).toContain('embedding_parts');
  });

  it.each([100, 256, 768, 1536])('ranks and scores %i-dimensional memories as the per-row scan does', async (dimension) => {
    const scope = await insertMemories(db, dimension, unitVectors(400, dimension, dimension));
    await expectSameAsUnnest(db, scope, dimension);
    // Up to 800 dimensions the ranking reads the parts by subscripts of the column, which is
    // only cheap while they are stored in the row as they are.
    const { rows } = await db.query<{ compression: string | null }>(
      `SELECT DISTINCT pg_column_compression(embedding_parts) AS compression FROM character_memories WHERE character_id = $1`,
      [scope.characterId],
    );
    if (dimension <= 800) expect(rows.map((row) => row.compression)).toEqual([null]);
  });

  it('keeps each written embedding as cubes of 100 of its dimensions, and none for a missing or empty one (migration 0028)', async () => {
    const story = await insertStory(db);
    const [vector] = unitVectors(1, 256, 9);
    const { rows } = await db.query<{ dims: number[] | null; first: number; last: number }>(
      `INSERT INTO memories (story_id, kind, content, embedding)
       VALUES ($1, 'fact', 'a', $2::real[]), ($1, 'fact', 'b', NULL), ($1, 'fact', 'c', '{}'::real[])
       RETURNING (SELECT array_agg(cube_dim(p) ORDER BY n) FROM unnest(embedding_parts) WITH ORDINALITY AS u(p, n)) AS dims,
                 cube_ll_coord(embedding_parts[1], 1) AS first, cube_ll_coord(embedding_parts[3], 56) AS last`,
      [story, vector],
    );
    expect(rows.map((row) => row.dims)).toEqual([[100, 100, 56], null, null]);
    expect(rows[0]!.first).toBeCloseTo(vector![0]!, 6);
    expect(rows[0]!.last).toBeCloseTo(vector![255]!, 6);
  });

  it('leaves out memories of another dimension', async () => {
    const scope = await insertMemories(db, 256, unitVectors(50, 256, 3));
    await insertMemories(db, 200, unitVectors(50, 200, 4), scope);
    await insertMemories(db, 300, unitVectors(50, 300, 5), scope);
    // A limit above the 50 of this dimension: every one of them, none of the others.
    expect(await expectSameAsUnnest(db, scope, 256, 60)).toEqual([50, 50, 50, 50, 50]);
  });
});

describe('a database migrated before 0025', () => {
  let empty: Awaited<ReturnType<typeof createEmptyServerDatabase>>;
  let db: Database;
  beforeAll(async () => {
    empty = await createEmptyServerDatabase();
    db = await openServerDatabase({ url: empty.url, poolSize: 2, transactionDefaults: testTransactionDefaults, applicationName: 'livingworld-test' });
    await migrate(db, readMigrations().filter((migration) => migration.version < 25));
  }, 60_000);
  afterAll(async () => {
    await db.close();
    await empty.drop();
  });

  it('keeps its memories, stores their parts in the row uncompressed, and finds them as the per-row scan does', async () => {
    const dimension = 256;
    const scope = await insertMemories(db, dimension, unitVectors(300, dimension, 11));
    const stored = async () =>
      (await db.query<{ compression: string | null }>(`SELECT DISTINCT pg_column_compression(embedding_parts) AS compression FROM character_memories WHERE character_id = $1`, [scope.characterId])).rows.map((row) => row.compression);
    // As 0014 left them: 2.4 KB of parts a row, compressed (which every subscript decompressed).
    expect(await stored()).not.toContain(null);
    await migrate(db);
    expect(await stored()).toEqual([null]);
    const { rows } = await db.query<{ attstorage: string }>(`SELECT attstorage FROM pg_attribute WHERE attrelid = 'character_memories'::regclass AND attname = 'embedding_parts'`);
    expect(rows[0]?.attstorage).toBe('m');
    const { rows: counted } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM character_memories WHERE character_id = $1 AND embedding_parts IS NOT NULL`, [scope.characterId]);
    expect(counted[0]?.n).toBe(300);
    await expectSameAsUnnest(db, scope, dimension);
  });
});

interface MemoryScope {
  storyId: string;
  characterId: string;
}

async function insertMemories(db: Database, dimension: number, vectors: number[][], scope?: MemoryScope): Promise<MemoryScope> {
  let target = scope;
  if (!target) {
    const storyId = await insertStory(db);
    const { rows: made } = await db.query<{ id: string }>(`INSERT INTO characters (story_id, name) VALUES ($1, 'Mara Vell') RETURNING id`, [storyId]);
    target = { storyId, characterId: made[0]!.id };
  }
  await db.query(
    `INSERT INTO character_memories (story_id, character_id, kind, content, embedding)
     SELECT $1, $2, 'observation', 'memory ' || $4 || '/' || n, v::real[] FROM unnest($3::text[]) WITH ORDINALITY AS u(v, n)`,
    [target.storyId, target.characterId, vectors.map((v) => `{${v.join(',')}}`), dimension],
  );
  return target;
}

/** The cube parts' nearest rows and scores are the per-row scan's, for a few seeded queries. */
async function expectSameAsUnnest(db: Database, scope: MemoryScope, dimension: number, limit = 10): Promise<number[]> {
  const counts: number[] = [];
  const query = (store: ReturnType<typeof vectorStoreFor>, queryEmbedding: number[]) =>
    store.nearestSql({
      table: 'character_memories',
      from: 'character_memories m',
      column: 'm.embedding',
      select: 'm.content',
      where: 'm.story_id = $1 AND m.character_id = $2',
      params: [scope.storyId, scope.characterId],
      queryEmbedding,
      dimension,
      limit,
    });
  for (const queryEmbedding of unitVectors(5, dimension, 7 * dimension)) {
    const parts = query(vectorStoreFor('exact', 'cube_parts'), queryEmbedding);
    const unnest = query(vectorStoreFor('exact', 'unnest'), queryEmbedding);
    const [a, b] = await Promise.all([db.query<{ content: string; similarity: number }>(parts.sql, parts.params), db.query<{ content: string; similarity: number }>(unnest.sql, unnest.params)]);
    expect(a.rows.length).toBeGreaterThan(0);
    expect(a.rows.map((row) => row.content)).toEqual(b.rows.map((row) => row.content));
    a.rows.forEach((row, i) => expect(Number(row.similarity)).toBeCloseTo(Number(b.rows[i]!.similarity), 5));
    counts.push(a.rows.length);
  }
  return counts;
}
