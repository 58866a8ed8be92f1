import { withTransaction, type Database, type Transaction } from '../db/index.js';
import { recordIdempotentAnswer, type IdempotencyClaim } from '../idempotency/index.js';
import type { Embedder } from './embedder.js';
import { getStory } from '../story/story-repo.js';
import { createLoreEntry, getLoreEntry, loreEmbeddingText, updateLoreEntry, type LoreEntry, type LorePatch } from './lore-repo.js';
import type { LoreOptionsInput } from './lore-options.js';

/** The entry's single write, in a transaction that also stores a keyed request's answer. */
function storedWith(db: Database, idempotency: IdempotencyClaim | undefined, write: (tx: Transaction) => Promise<LoreEntry>): Promise<LoreEntry> {
  return withTransaction(db, {}, async (tx) => {
    const entry = await write(tx);
    await recordIdempotentAnswer(tx, idempotency, entry);
    return entry;
  });
}

interface LoreDeps {
  db: Database;
  embedder: Embedder;
}

/** Adds a world-info entry; its embedding is computed first, with no transaction open. */
export async function addLoreEntry(
  deps: LoreDeps,
  input: { storyId: string; title: string; content: string; keywords?: string[]; enabled?: boolean } & LoreOptionsInput,
  idempotency?: IdempotencyClaim,
): Promise<LoreEntry> {
  await getStory(deps.db, input.storyId);
  const [embedding] = await deps.embedder.embed([loreEmbeddingText(input)]);
  const { scanDepth, ...rest } = input;
  return storedWith(deps.db, idempotency, (tx) => createLoreEntry(tx, { ...rest, ...(scanDepth === undefined ? {} : { scanDepth }), embedding: embedding ?? null }));
}

/** Edits an entry at the version the caller saw (stale → version_conflict). */
export async function editLoreEntry(
  deps: LoreDeps,
  input: { storyId: string; id: string; expectedVersion: number; patch: Omit<LorePatch, 'embedding'> },
  idempotency?: IdempotencyClaim,
): Promise<LoreEntry> {
  let patch: LorePatch = input.patch;
  if (patch.title !== undefined || patch.content !== undefined) {
    const current = await getLoreEntry(deps.db, input.storyId, input.id);
    const text = loreEmbeddingText({ title: patch.title ?? current.title, content: patch.content ?? current.content });
    const [embedding] = await deps.embedder.embed([text]);
    patch = { ...patch, embedding: embedding! };
  }
  return storedWith(deps.db, idempotency, (tx) => updateLoreEntry(tx, { storyId: input.storyId, id: input.id, expectedVersion: input.expectedVersion, patch }));
}
