import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import type { Embedder } from '../../src/memory/embedder.js';
import { createOfflineEmbedder } from '../../src/memory/embedders/offline.js';
import { ensureEmbeddingSettings } from '../../src/memory/embedding-settings.js';
import { createLoreEntry, deleteLoreEntry, listLoreEntries, loreEmbeddingText, updateLoreEntry } from '../../src/memory/lore-repo.js';
import { keywordMatches } from '../../src/memory/lore-keys.js';
import { selectLore } from '../../src/memory/select-lore.js';
import { createTestDatabase, type BackendName } from '../helpers/db.js';
import { insertStory } from '../helpers/fixtures.js';

const keywordAppears = (keyword: string, text: string) => keywordMatches(keyword, text, { caseSensitive: false, matchWholeWords: true });
const scan = { seed: 1, scanDepth: 2, tokenBudget: 1000 };

describe('keywordMatches', () => {
  it('matches whole words case-insensitively', () => {
    expect(keywordAppears('sword', 'She draws her SWORD!')).toBe(true);
    expect(keywordAppears('sword', 'a swordfish leaps')).toBe(false);
    expect(keywordAppears('Old Mill', 'down by the old mill, at dusk')).toBe(true);
    expect(keywordAppears('c++', 'written in C++ code')).toBe(true);
    expect(keywordAppears('éclair', 'un Éclair au café')).toBe(true);
  });
});

describe.each<BackendName>(['server', 'embedded'])('lore entries on the %s backend', (backend) => {
  let db: Database;
  let dispose: () => Promise<void>;
  let embedder: Embedder;
  beforeAll(async () => {
    ({ db, dispose } = await createTestDatabase(backend));
    embedder = await createOfflineEmbedder();
    await ensureEmbeddingSettings(db, embedder);
  });
  afterAll(async () => dispose());

  async function addLore(storyId: string, title: string, content: string, keywords: string[]) {
    const [embedding] = await embedder.embed([loreEmbeddingText({ title, content })]);
    return createLoreEntry(db, { storyId, title, content, keywords, embedding: embedding! });
  }

  it('creates, lists, updates with a version check, and deletes', async () => {
    const storyId = await insertStory(db);
    const entry = await addLore(storyId, 'The Old Mill', 'A ruined mill by the river.', ['mill', ' mill ', '']);
    expect(entry.keywords).toEqual(['mill']);
    const [embedding] = await embedder.embed(['The Old Mill\nA ruined mill, haunted.']);
    const updated = await updateLoreEntry(db, { storyId, id: entry.id, expectedVersion: 0, patch: { content: 'A ruined mill, haunted.', embedding: embedding! } });
    expect(updated.version).toBe(1);
    await expect(updateLoreEntry(db, { storyId, id: entry.id, expectedVersion: 0, patch: { enabled: false } })).rejects.toMatchObject({ code: 'version_conflict' });
    expect((await listLoreEntries(db, storyId)).map((e) => e.content)).toEqual(['A ruined mill, haunted.']);
    await deleteLoreEntry(db, storyId, entry.id);
    expect(await listLoreEntries(db, storyId)).toEqual([]);
    await expect(deleteLoreEntry(db, storyId, entry.id)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('matches by keyword in the recent text, and skips disabled entries', async () => {
    const storyId = await insertStory(db);
    await addLore(storyId, 'The Old Mill', 'A ruined mill by the river.', ['old mill']);
    const guild = await addLore(storyId, 'Thieves Guild', 'They meet under the bridge.', ['guild']);
    await updateLoreEntry(db, { storyId, id: guild.id, expectedVersion: 0, patch: { enabled: false } });
    const matches = await selectLore(db, { storyId, recentScenes: [], queryText: 'You walk past the Old Mill and the guild hall.', ...scan });
    expect(matches.beforeCharacters.map((m) => m.text)).toEqual(['The Old Mill: A ruined mill by the river.']);
  });

  it('matches by meaning when no keyword appears: a blade finds the sword', async () => {
    const storyId = await insertStory(db);
    await addLore(storyId, 'Dawnbringer', 'An ancient sword forged for the first queen; its steel never dulls.', ['dawnbringer']);
    await addLore(storyId, 'The Harbour Market', 'Fishmongers sell herring and crabs each morning.', ['market']);
    const [queryEmbedding] = await embedder.embed(['She grips the hilt of the blade and swings it at the knight.']);
    const matches = await selectLore(db, {
      storyId,
      recentScenes: [],
      queryText: 'She grips the hilt of the blade.',
      queryEmbedding: queryEmbedding!,
      similarityThreshold: 0.3,
      ...scan,
    });
    expect(matches.beforeCharacters.map((m) => m.text)).toEqual(['Dawnbringer: An ancient sword forged for the first queen; its steel never dulls.']);
  });
});
