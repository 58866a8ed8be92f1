import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { withTransaction, type Database } from '../../src/db/index.js';
import { getOrCreateCharacter, getCharacter, listCharacters } from '../../src/characters/character-repo.js';
import { updateCharacter } from '../../src/characters/edit-character.js';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { insertStory } from '../helpers/fixtures.js';
import { isAppError } from '../../src/errors.js';

describe('character get-or-create on the server backend', () => {
  let server: TestServerDatabase;
  let db: Database;
  beforeAll(async () => {
    server = await createServerTestDatabase();
    db = server.db;
  });
  afterAll(async () => server.drop());

  const variants = ['Maya Chen', 'maya chen', ' Maya  Chen '];

  it('creates one character when 20 transactions name the same person with different spellings', async () => {
    const story = await insertStory(db);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        withTransaction(db, {}, (tx) => getOrCreateCharacter(tx, { storyId: story, name: variants[i % variants.length]! })),
      ),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.character.id)).size).toBe(1);
    const characters = await listCharacters(db, story);
    expect(characters).toHaveLength(1);
    // The creator's spelling is kept, cleaned of surrounding and doubled spaces.
    expect(characters[0]!.name).toBe(results.find((r) => r.created)!.character.name);
    expect(['Maya Chen', 'maya chen']).toContain(characters[0]!.name);
  });

  it('creates one character per story when two stories race on the same name', async () => {
    const storyA = await insertStory(db);
    const storyB = await insertStory(db);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        withTransaction(db, {}, (tx) => getOrCreateCharacter(tx, { storyId: i % 2 ? storyA : storyB, name: variants[i % 3]! })),
      ),
    );
    expect(results.filter((r) => r.created)).toHaveLength(2);
    expect((await listCharacters(db, storyA)).length).toBe(1);
    expect((await listCharacters(db, storyB)).length).toBe(1);
  });

  it('serialises creators on the advisory lock: waiters re-check and find the one created meanwhile', async () => {
    const story = await insertStory(db);
    // Hold the (story, name) lock from another connection so that every caller misses the
    // fast path and queues on the lock.
    const blocker = new pg.Client(server.url);
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query(`SELECT pg_advisory_xact_lock(hashtextextended($1::text || ':' || lw_name_key($2), 0))`, [story, 'Maya Chen']);
    // A long lock timeout: under a loaded machine the waiters may queue for several seconds.
    // Ten waiters: enough to show the queue, few enough not to exhaust a shared server's connections.
    const pending = Array.from({ length: 10 }, (_, i) =>
      withTransaction(db, { lockTimeoutMs: 30_000 }, (tx) => getOrCreateCharacter(tx, { storyId: story, name: variants[i % 3]! })),
    );
    // Wait until all 10 are blocked on the advisory lock (in this test's database only).
    const countWaiting = async () =>
      (
        await blocker.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks
           WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        )
      ).rows[0]!.n;
    const deadline = Date.now() + 20_000;
    while ((await countWaiting()) < 10 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await countWaiting()).toBe(10);
    await blocker.query('COMMIT');
    await blocker.end();
    const results = await Promise.all(pending);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(results.filter((r) => r.createdConcurrently)).toHaveLength(9);
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM characters WHERE story_id = $1', [story]);
    expect(rows[0]!.n).toBe(1);
  });

  it('refuses a pronoun or an empty name', async () => {
    const story = await insertStory(db);
    await expect(withTransaction(db, {}, (tx) => getOrCreateCharacter(tx, { storyId: story, name: 'she' }))).rejects.toMatchObject({ code: 'validation' });
    await expect(withTransaction(db, {}, (tx) => getOrCreateCharacter(tx, { storyId: story, name: ' ... ' }))).rejects.toMatchObject({ code: 'validation' });
  });

  it('updates with the expected version and refuses a stale one', async () => {
    const story = await insertStory(db);
    const { character } = await withTransaction(db, {}, (tx) => getOrCreateCharacter(tx, { storyId: story, name: 'Ines' }));
    const updated = await updateCharacter(db, { characterId: character.id, expectedVersion: character.version, patch: { personality: 'wry' } });
    expect(updated.version).toBe(character.version + 1);
    expect(updated.personality).toBe('wry');
    const stale = await updateCharacter(db, { characterId: character.id, expectedVersion: character.version, patch: { mood: 'cross' } }).catch((e: unknown) => e);
    expect(isAppError(stale, 'version_conflict')).toBe(true);
    expect((await getCharacter(db, character.id)).mood).toBe('neutral');
  });

  it('lets exactly one of two concurrent edits at the same version win', async () => {
    const story = await insertStory(db);
    const { character } = await withTransaction(db, {}, (tx) => getOrCreateCharacter(tx, { storyId: story, name: 'Odile' }));
    const outcomes = await Promise.allSettled([
      updateCharacter(db, { characterId: character.id, expectedVersion: character.version, patch: { mood: 'happy' } }),
      updateCharacter(db, { characterId: character.id, expectedVersion: character.version, patch: { mood: 'sad' } }),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const rejected = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toMatchObject({ code: 'version_conflict' });
  });

  it('reports an unknown character as not found', async () => {
    await expect(getCharacter(db, '00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ code: 'not_found' });
  });
});
