import type { Database } from '../db/index.js';
import type { Embedder } from './embedder.js';
import { getStory } from '../story/story-repo.js';
import { createLoreEntry, getLoreEntry, loreEmbeddingText, updateLoreEntry, type LoreEntry, type LorePatch } from './lore-repo.js';
import type { LoreOptionsInput } from './lore-options.js';

interface LoreDeps {
  db: Database;
  embedder: Embedder;
}

/** Adds a world-info entry; its embedding is computed first, with no transaction open. */
export async function addLoreEntry(
  deps: LoreDeps,
  input: { storyId: string; title: string; content: string; keywords?: string[]; enabled?: boolean } & LoreOptionsInput,
): Promise<LoreEntry> {
  await getStory(deps.db, input.storyId);
  const [embedding] = await deps.embedder.embed([loreEmbeddingText(input)]);
  const { scanDepth, ...rest } = input;
  return createLoreEntry(deps.db, { ...rest, ...(scanDepth === undefined ? {} : { scanDepth }), embedding: embedding ?? null });
}

/** Edits an entry at the version the caller saw (stale → version_conflict). */
export async function editLoreEntry(
  deps: LoreDeps,
  input: { storyId: string; id: string; expectedVersion: number; patch: Omit<LorePatch, 'embedding'> },
): Promise<LoreEntry> {
  let patch: LorePatch = input.patch;
  if (patch.title !== undefined || patch.content !== undefined) {
    const current = await getLoreEntry(deps.db, input.storyId, input.id);
    const text = loreEmbeddingText({ title: patch.title ?? current.title, content: patch.content ?? current.content });
    const [embedding] = await deps.embedder.embed([text]);
    patch = { ...patch, embedding: embedding! };
  }
  return updateLoreEntry(deps.db, { storyId: input.storyId, id: input.id, expectedVersion: input.expectedVersion, patch });
}
