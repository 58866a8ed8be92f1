import { withTransaction, type Database, type Transaction } from '../db/index.js';
import { recordIdempotentAnswer, type IdempotencyClaim } from '../idempotency/index.js';
import type { Embedder } from './embedder.js';
import { embedOrDefer, queueEmbeddingBackfill } from './embedding-backfill.js';
import { getLogger } from '../logger.js';
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
  const [embedding] = (await embedOrDefer(deps.embedder, [loreEmbeddingText(input)], getLogger().child({ storyId: input.storyId }), 'lore')) ?? [];
  const { scanDepth, ...rest } = input;
  return storedWith(deps.db, idempotency, async (tx) => {
    const entry = await createLoreEntry(tx, { ...rest, ...(scanDepth === undefined ? {} : { scanDepth }), embedding: embedding ?? null });
    if (embedding === undefined) await queueEmbeddingBackfill(tx, input.storyId);
    return entry;
  });
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
    const [embedding] = (await embedOrDefer(deps.embedder, [text], getLogger().child({ storyId: input.storyId }), 'lore')) ?? [];
    // The old embedding no longer matches the text: without a new one it is cleared for the back-fill.
    patch = { ...patch, embedding: embedding ?? null };
  }
  return storedWith(deps.db, idempotency, async (tx) => {
    const entry = await updateLoreEntry(tx, { storyId: input.storyId, id: input.id, expectedVersion: input.expectedVersion, patch });
    if (patch.embedding === null) await queueEmbeddingBackfill(tx, input.storyId);
    return entry;
  });
}
