import { randomUUID } from 'node:crypto';
import type { Database, Queryable } from '../db/index.js';
import { withTransaction } from '../db/index.js';
import { lockCharacterName } from '../characters/character-repo.js';
import { AppError } from '../errors.js';
import type { Embedder } from '../memory/embedder.js';
import { ensureEmbeddingSettings } from '../memory/embedding-settings.js';
import { queueEmbeddingBackfill } from '../memory/embedding-backfill.js';
import { insertLoreEntries } from '../memory/lore-repo.js';
import { parseCharacterCard, type CharacterCard, type ParsedCharacterCard } from './character-card.js';
import { assetsListOf, charxUri, mediaTypeOf, pngAssetUri, type CardAsset } from './card-assets.js';
import { cardBookCodec, fitToColumn } from './lore-codecs.js';
import { embedPlannedLore, lockStoryForLore, planLorebookEntries, type PlannedLore } from './import-lorebook.js';
import { importValidationError, isPlainObject, isUuid, normaliseNameKey, type JsonObject, type JsonValue } from './validation.js';

export { fitToColumn };

export interface ImportCharacterCardResult {
  characterId: string;
  loreEntryIds: string[];
  /** What was not kept, or is kept but does not act in the story (the V3 spec asks to say so). */
  warnings: string[];
}

/** Column limits of the characters table. */
export const cardColumnLimits = { description: 4000, personality: 4000, background: 8000 } as const;

const stringField = (data: JsonObject, key: string): string => (typeof data[key] === 'string' ? (data[key] as string) : '');

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

export interface CardCharacterPlan {
  linkId: string;
  character: { name: string; description: string; personality: string; background: string; metadata: JsonObject };
  lore: PlannedLore[];
  assets: { kind: string; uri: string; name: string; ext: string; mediaType: string; data: Buffer; position: number }[];
  warnings: string[];
}

/** Which of the card's listed assets are kept, and a warning for each that is not. */
function planAssets(parsed: ParsedCharacterCard): { assets: CardCharacterPlan['assets']; warnings: string[] } {
  const warnings: string[] = [];
  const assets: CardCharacterPlan['assets'] = [];
  if (parsed.image) assets.push({ kind: 'card_image', uri: 'ccdefault:', name: 'card image', ext: 'png', mediaType: 'image/png', data: parsed.image, position: 0 });
  parsed.assets.forEach((asset: CardAsset, index) => {
    assets.push({ kind: asset.type, uri: asset.uri, name: asset.name || `asset ${index + 1}`, ext: asset.ext, mediaType: mediaTypeOf(asset.ext), data: asset.data, position: index + 1 });
  });
  const stored = new Set(parsed.assets.map((asset) => asset.uri));
  for (const listed of assetsListOf(parsed.card.data)) {
    const uri = typeof listed['uri'] === 'string' ? listed['uri'] : '';
    const label = `Asset "${typeof listed['name'] === 'string' ? listed['name'] : '?'}" (${uri.slice(0, 100) || 'no uri'})`;
    if ((uri.startsWith(pngAssetUri) || uri.startsWith(charxUri)) && !stored.has(uri)) warnings.push(`${label} is not in the file, so it was not saved.`);
    else if (/^https?:/i.test(uri)) warnings.push(`${label} is a link; it is kept as a link but its file was not downloaded.`);
    else if (uri !== 'ccdefault:' && !uri.startsWith(pngAssetUri) && !uri.startsWith(charxUri) && !uri.startsWith('data:')) {
      warnings.push(`${label} has a kind of reference this version does not read; the reference is kept, no file was saved.`);
    }
  }
  return { assets, warnings };
}

/** Everything a card becomes (character, lore, files), checked and ready to write. */
export function planCardCharacter(storyId: string, parsed: ParsedCharacterCard): CardCharacterPlan {
  const card: CharacterCard = parsed.card;
  const data = card.data;
  const name = stringField(data, 'name').trim();
  if (normaliseNameKey(name) === '') {
    throw importValidationError('character card', [{ path: 'data.name', message: 'has no letters or digits (only spaces and punctuation)' }]);
  }
  const linkId = randomUUID();
  const book = isPlainObject(data['character_book']) ? (data['character_book'] as JsonObject) : undefined;
  const entries = (book && Array.isArray(book['entries']) ? book['entries'] : []).filter((e): e is JsonObject => isPlainObject(e));
  const { planned, unimported, notes } = planLorebookEntries(
    storyId,
    entries.map((entry, index) => ({ key: String(index), entry })),
    cardBookCodec,
    (key, entry) => ({ character_card: { link_id: linkId, index: Number(key), entry } }),
    (key) => `${name}: entry ${Number(key) + 1}`,
  );
  const storedData: JsonObject = { ...data };
  if (book) {
    const { entries: _moved, ...bookWithoutEntries } = book;
    storedData['character_book'] = bookWithoutEntries;
  }
  const stored: StoredCharacterCard = {
    link_id: linkId,
    spec: card.spec,
    spec_version: card.spec_version,
    other_fields: card.otherFields,
    data: storedData,
    unimported_book_entries: unimported.map(({ key, entry }) => ({ index: Number(key), entry })),
  };
  const { assets, warnings: assetWarnings } = planAssets(parsed);
  return {
    linkId,
    character: {
      name,
      description: fitToColumn(stringField(data, 'description'), cardColumnLimits.description),
      personality: fitToColumn(stringField(data, 'personality'), cardColumnLimits.personality),
      background: fitToColumn(stringField(data, 'scenario'), cardColumnLimits.background),
      metadata: { character_card: stored as unknown as JsonValue },
    },
    lore: planned,
    assets,
    warnings: [...parsed.warnings, ...notes.map((note) => `Character book: ${note}`), ...assetWarnings],
  };
}

/**
 * Writes a planned card character, its lore and its files, inside the caller's transaction.
 * A character of the same normalised name is refused (AppError `validation`), never
 * duplicated: the name lock is the one the character repository takes, and the unique index
 * decides any race.
 */
export async function writeCardCharacter(tx: Queryable, storyId: string, plan: CardCharacterPlan): Promise<string> {
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
  await insertLoreEntries(tx, plan.lore.map((p) => p.row));
  for (const asset of plan.assets) {
    await tx.query(
      `INSERT INTO character_assets (story_id, character_id, kind, name, uri, ext, media_type, data, position)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [storyId, id, asset.kind, asset.name.slice(0, 500), asset.uri, asset.ext.slice(0, 50), asset.mediaType, asset.data, asset.position],
    );
  }
  return id;
}

/**
 * Creates a character from a V1/V2/V3 card (JSON, PNG or CHARX) in an existing story: name,
 * description, personality, the scenario as background; the whole card is kept in its
 * metadata, its art and assets byte for byte. The card's character_book entries become lore
 * entries, embedded first (no transaction open) so that they match by meaning at once.
 */
export async function importCharacterCard(db: Database, storyId: string, content: Buffer | string, embedder: Embedder): Promise<ImportCharacterCardResult> {
  const parsed = parseCharacterCard(content);
  if (!isUuid(storyId)) throw new AppError('not_found', `Story ${storyId} does not exist.`);
  const plan = planCardCharacter(storyId, parsed);
  await ensureEmbeddingSettings(db, embedder);
  const deferred = await embedPlannedLore(embedder, plan.lore);
  const characterId = await withTransaction(db, {}, async (tx) => {
    await lockStoryForLore(tx, storyId);
    const written = await writeCardCharacter(tx, storyId, plan);
    if (deferred) await queueEmbeddingBackfill(tx, storyId);
    return written;
  });
  return { characterId, loreEntryIds: plan.lore.map((entry) => entry.row.id), warnings: plan.warnings };
}
