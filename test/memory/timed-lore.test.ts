import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction, type Database } from '../../src/db/index.js';
import { createLoreEntry, deleteLoreEntry } from '../../src/memory/lore-repo.js';
import { loadPathActivations, recordLoreActivations } from '../../src/memory/timed-lore.js';
import { createServerTestDatabase, createTestDatabase, type BackendName, type TestServerDatabase } from '../helpers/db.js';
import { insertScene, insertStory } from '../helpers/fixtures.js';

let database: TestServerDatabase;
let db: Database;
beforeAll(async () => {
  database = await createServerTestDatabase({ poolSize: 4 });
  db = database.db;
});
afterAll(async () => database?.drop());

const lore = (storyId: string, title: string, on: Database = db) =>
  createLoreEntry(on, { storyId, title, content: `${title}.`, keywords: [title.toLowerCase()], sticky: 2, embedding: null });

describe.each<BackendName>(['server', 'embedded'])('lore activations on the %s backend', (backend) => {
  let db: Database;
  let dispose: () => Promise<void>;
  beforeAll(async () => ({ db, dispose } = await createTestDatabase(backend)));
  afterAll(async () => dispose());

  it('records what a scene held along its path only', async () => {
    const storyId = await insertStory(db);
    const comet = await lore(storyId, 'Comet', db);
    const root = await insertScene(db, storyId, null);
    const left = await insertScene(db, storyId, root);
    const right = await insertScene(db, storyId, root);
    await recordLoreActivations(db, storyId, left, [comet.id, comet.id]);
    expect(await loadPathActivations(db, storyId, left)).toEqual([{ sceneNumber: 2, loreEntryIds: [comet.id] }]);
    expect(await loadPathActivations(db, storyId, right)).toEqual([]);
    // Editing the entry ends what earlier scenes started.
    await db.query('UPDATE lore_entries SET updated_at = now() WHERE id = $1', [comet.id]);
    expect(await loadPathActivations(db, storyId, left)).toEqual([]);
  });
});

describe('lore activations under concurrent deletes (real PostgreSQL)', () => {

  it('waits for an entry being deleted, then skips it instead of failing the scene write', async () => {
    const storyId = await insertStory(db);
    const [doomed, kept] = [await lore(storyId, 'Doomed'), await lore(storyId, 'Kept')];
    const scene = await insertScene(db, storyId, null);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let deleting!: () => void;
    const deleted = new Promise<void>((resolve) => (deleting = resolve));
    // Connection one deletes the entry and holds its transaction open.
    const deleter = withTransaction(db, {}, async (tx) => {
      await deleteLoreEntry(tx, storyId, doomed.id);
      deleting();
      await held;
    });
    await deleted;
    // Connection two records both entries: it must wait for the delete to commit.
    let recorded = false;
    const recorder = withTransaction(db, {}, async (tx) => {
      await recordLoreActivations(tx, storyId, scene, [doomed.id, kept.id]);
      recorded = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(recorded).toBe(false);
    release();
    await Promise.all([deleter, recorder]);
    expect(await loadPathActivations(db, storyId, scene)).toEqual([{ sceneNumber: 1, loreEntryIds: [kept.id] }]);
  });
});
