import { randomUUID } from 'node:crypto';
import type { Database } from '../db/index.js';
import { withTransaction } from '../db/index.js';
import { lockCharacterName } from '../characters/character-repo.js';
import { AppError } from '../errors.js';
import { parseCharacterCard, type CharacterCard } from './character-card.js';
import { importValidationError, isUuid, normaliseNameKey, type JsonObject, type JsonValue } from './validation.js';

export interface ImportCharacterCardResult {
  characterId: string;
  loreEntryIds: string[];
  warnings: string[];
}

/** Column limits of the characters and lore_entries tables. */
export const cardColumnLimits = { description: 4000, personality: 4000, background: 8000, loreTitle: 200, loreContent: 8000 } as const;

/**
 * Cuts text to a column's limit. The full text stays in the stored card, and export puts it
 * back when the column still holds exactly this cut (see export-character-card.ts).
 */
export function fitToColumn(value: string, limit: number): string {
  if (value.length <= limit) return value;
  // Never split a surrogate pair: half of one is not text PostgreSQL can store.
  const end = /[\uD800-\uDBFF]/.test(value[limit - 1] ?? '') ? limit - 1 : limit;
  return value.slice(0, end);
}

const stringField = (data: JsonObject, key: string): string => (typeof data[key] === 'string' ? (data[key] as string) : '');

/** The title a lore entry gets from a book entry: its name, else its comment, else its keys. */
export function loreTitleOf(entry: JsonObject, index: number, characterName: string): string {
  const keys = Array.isArray(entry['keys']) ? entry['keys'].filter((k): k is string => typeof k === 'string') : [];
  const candidates = [stringField(entry, 'name'), stringField(entry, 'comment'), keys.join(', ')].map((s) => s.replace(/\s+/g, ' ').trim());
  const title = candidates.find((c) => c.length > 0) ?? `${characterName}: entry ${index + 1}`;
  return fitToColumn(title, cardColumnLimits.loreTitle);
}

export function loreKeywordsOf(entry: JsonObject): string[] {
  return Array.isArray(entry['keys']) ? entry['keys'].filter((k): k is string => typeof k === 'string') : [];
}

/**
 * What a character keeps of its card, under metadata.character_card: the card as read, with
 * the book's entries moved to the lore entries made from them (each remembers its place by
 * `link_id` and `index`). Entries that cannot be a lore entry (no content) stay here.
 */
export interface StoredCharacterCard {
  link_id: string;
  spec: string;
  spec_version: string;
  other_fields: JsonObject;
  data: JsonObject;
  unimported_book_entries: { index: number; entry: JsonObject }[];
}

function planImport(card: CharacterCard) {
  const data = card.data;
  const name = stringField(data, 'name').trim();
  if (normaliseNameKey(name) === '') {
    throw importValidationError('character card', [{ path: 'data.name', message: 'has no letters or digits (only spaces and punctuation)' }]);
  }
  const linkId = randomUUID();
  const book = data['character_book'];
  const entries = (book && typeof book === 'object' && !Array.isArray(book) && Array.isArray(book['entries']) ? book['entries'] : []) as JsonObject[];
  const lore: { id: string; title: string; keywords: string[]; content: string; enabled: boolean; metadata: JsonObject }[] = [];
  const unimported: StoredCharacterCard['unimported_book_entries'] = [];
  entries.forEach((entry, index) => {
    const content = stringField(entry, 'content');
    if (content.trim() === '') {
      unimported.push({ index, entry });
      return;
    }
    lore.push({
      id: randomUUID(),
      title: loreTitleOf(entry, index, name),
      keywords: loreKeywordsOf(entry),
      content: fitToColumn(content, cardColumnLimits.loreContent),
      enabled: entry['enabled'] !== false,
      metadata: { character_card: { link_id: linkId, index, entry } },
    });
  });
  const storedData: JsonObject = { ...data };
  if (book && typeof book === 'object' && !Array.isArray(book)) {
    const { entries: _moved, ...bookWithoutEntries } = book as JsonObject;
    storedData['character_book'] = bookWithoutEntries as JsonValue;
  }
  const stored: StoredCharacterCard = {
    link_id: linkId,
    spec: card.spec,
    spec_version: card.spec_version,
    other_fields: card.otherFields,
    data: storedData,
    unimported_book_entries: unimported,
  };
  return {
    character: {
      name,
      description: fitToColumn(stringField(data, 'description'), cardColumnLimits.description),
      personality: fitToColumn(stringField(data, 'personality'), cardColumnLimits.personality),
      background: fitToColumn(stringField(data, 'scenario'), cardColumnLimits.background),
      metadata: { character_card: stored as unknown as JsonValue },
    },
    lore,
  };
}

/**
 * Creates a character from a V1/V2/V3 card (JSON or PNG): name, description, personality,
 * and the scenario as background; the whole card is kept in its metadata. The card's
 * character_book entries become lore entries. One transaction; a character of the same
 * normalised name is refused (AppError `validation`), never duplicated — the name lock is
 * the one the character repository takes, and the unique index decides any race.
 */
export async function importCharacterCard(db: Database, storyId: string, content: Buffer | string): Promise<ImportCharacterCardResult> {
  const { card, warnings } = parseCharacterCard(content);
  if (!isUuid(storyId)) throw new AppError('not_found', `Story ${storyId} does not exist.`);
  const plan = planImport(card);
  const characterId = await withTransaction(db, {}, async (tx) => {
    const story = await tx.query<{ status: string }>('SELECT status FROM stories WHERE id = $1 FOR KEY SHARE', [storyId]);
    if (!story.rows[0]) throw new AppError('not_found', `Story ${storyId} does not exist.`);
    if (story.rows[0].status === 'archived') throw new AppError('story_archived', 'The story is archived; restore it before adding characters.');
    await lockCharacterName(tx, storyId, plan.character.name);
    const { character } = plan;
    const inserted = await tx.query<{ id: string }>(
      `INSERT INTO characters (story_id, name, description, personality, background, metadata)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb)
       ON CONFLICT ON CONSTRAINT characters_story_name_key_unique DO NOTHING
       RETURNING id`,
      [storyId, character.name, character.description, character.personality, character.background, JSON.stringify(character.metadata)],
    );
    const id = inserted.rows[0]?.id;
    if (id === undefined) {
      const existing = await tx.query<{ id: string; name: string }>('SELECT id, name FROM characters WHERE story_id = $1 AND name_key = lw_name_key($2)', [
        storyId,
        character.name,
      ]);
      const other = existing.rows[0];
      throw new AppError(
        'validation',
        `This story already has a character named "${other?.name ?? character.name}"; rename the card's character or edit the existing one instead.`,
        { details: { conflict: 'character_exists', ...(other ? { characterId: other.id } : {}) } },
      );
    }
    if (plan.lore.length > 0) {
      await tx.query(
        `INSERT INTO lore_entries (story_id, id, title, keywords, content, enabled, metadata)
         SELECT $1, id, title, keywords, content, enabled, metadata
         FROM jsonb_to_recordset($2::jsonb) AS r(id uuid, title text, keywords text[], content text, enabled boolean, metadata jsonb)`,
        [storyId, JSON.stringify(plan.lore)],
      );
    }
    return id;
  });
  return { characterId, loreEntryIds: plan.lore.map((entry) => entry.id), warnings };
}
