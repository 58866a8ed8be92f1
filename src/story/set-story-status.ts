import { withTransaction } from '../db/index.js';
import type { Database } from '../db/index.js';
import { lockStoryForUpdate, setStoryStatus as writeStoryStatus } from './story-repo.js';

/** Archives a story (it can be read and exported, not played) or makes it playable again. */
export async function setStoryStatus(db: Database, storyId: string, status: 'active' | 'archived'): Promise<void> {
  await withTransaction(db, {}, async (tx) => {
    const story = await lockStoryForUpdate(tx, storyId);
    if (story.status !== status) await writeStoryStatus(tx, storyId, status);
  });
}
