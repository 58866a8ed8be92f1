import type { Queryable } from '../db/index.js';
import { listLoreEntries, type LoreEntry } from '../memory/lore-repo.js';
import { getStory } from '../story/story-repo.js';
import { fileStem } from './export-character-card.js';
import { exportLoreEntry, loreFieldsOf, worldInfoCodec } from './lore-codecs.js';
import { isPlainObject, type JsonObject } from './validation.js';

export interface ExportedLorebook {
  filename: string;
  document: JsonObject;
}

interface StoredBook {
  book_id: string;
  format: string;
  fields: JsonObject;
  unimported: { key: string; entry: JsonObject }[];
}

function storedBooks(settings: Record<string, unknown>): StoredBook[] {
  const lore = settings['lore'];
  const books = isPlainObject(lore) && Array.isArray(lore['books']) ? lore['books'] : [];
  return books.filter((book): book is StoredBook => isPlainObject(book) && typeof book['book_id'] === 'string' && isPlainObject(book['fields']));
}

function worldInfoOrigin(entry: LoreEntry): { bookId: string; key: string; entry: JsonObject } | undefined {
  const link = entry.metadata['lorebook'];
  if (!isPlainObject(link) || link['format'] !== 'world_info' || typeof link['key'] !== 'string' || !isPlainObject(link['entry'])) return undefined;
  return { bookId: String(link['book_id']), key: link['key'], entry: link['entry'] as JsonObject };
}

const byKey = (a: { key: string }, b: { key: string }) => Number(a.key) - Number(b.key) || a.key.localeCompare(b.key);

/**
 * A story's lore as one SillyTavern World Info file. Entries imported from World Info come
 * back as they were, with only the fields edited since written anew, under their own uid;
 * the rest (hand-added, from cards) get complete entries under the next free uids. The
 * last imported book's top-level fields (its name…) come back too.
 */
export async function exportLorebook(db: Queryable, storyId: string): Promise<ExportedLorebook> {
  const story = await getStory(db, storyId);
  const books = storedBooks(story.settings);
  const lore = await listLoreEntries(db, storyId);

  const fromBooks: { key: string; entry: JsonObject }[] = [];
  const others: LoreEntry[] = [];
  for (const row of lore) {
    const origin = worldInfoOrigin(row);
    if (!origin) {
      others.push(row);
      continue;
    }
    fromBooks.push({ key: origin.key, entry: exportLoreEntry(worldInfoCodec, loreFieldsOf(row), origin.entry, `Entry ${origin.key}`, 0) });
  }
  for (const book of books) if (book.format === 'world_info') fromBooks.push(...(Array.isArray(book.unimported) ? book.unimported : []));
  fromBooks.sort(byKey);

  const entries: JsonObject = {};
  const used = new Set<number>();
  let nextUid = 0;
  const freshUid = () => {
    while (used.has(nextUid)) nextUid++;
    used.add(nextUid);
    return nextUid;
  };
  const pending: { entry: JsonObject }[] = [];
  for (const item of fromBooks) {
    const uid = Number(item.key);
    if (Number.isInteger(uid) && uid >= 0 && !used.has(uid)) {
      used.add(uid);
      entries[String(uid)] = item.entry;
    } else pending.push(item); // Two books with the same uid: the later one moves.
  }
  for (const { entry } of pending) {
    const uid = freshUid();
    entries[String(uid)] = { ...entry, uid };
  }
  for (const row of others) {
    const uid = freshUid();
    entries[String(uid)] = exportLoreEntry(worldInfoCodec, loreFieldsOf(row), undefined, row.title, uid);
  }
  const lastBook = [...books].reverse().find((book) => book.format === 'world_info');
  const document: JsonObject = { ...(lastBook?.fields ?? { name: story.title }), entries };
  return { filename: `${fileStem(story.title, 'lore')}.world-info.json`, document };
}
