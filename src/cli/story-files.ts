import fs from 'node:fs';
import path from 'node:path';
import type { Database, Queryable } from '../db/index.js';
import { AppError } from '../errors.js';
import { exportStoryFile, importStoryFile, MAX_ARCHIVE_BYTES } from '../io/index.js';
import { getStory } from '../story/story-repo.js';
import { runIdempotent } from '../idempotency/index.js';
import { retryWithKey } from './retry-with-key.js';

/** The story in one of the export formats (json, md, twee), as the text to write. */
export async function exportStoryAs(db: Queryable, storyId: string, format: string): Promise<string> {
  return (await exportStoryFile(db, storyId, format === 'markdown' ? 'md' : format)).content;
}

export async function importStoryFromFile(db: Database, file: string): Promise<{ storyId: string; title: string; format: string }> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new AppError('not_found', `Cannot read ${file}: no such file.`);
  }
  if (stat.size > MAX_ARCHIVE_BYTES) {
    throw new AppError('payload_too_large', `${file} is ${stat.size} bytes; the import limit is ${MAX_ARCHIVE_BYTES} bytes.`);
  }
  const content = fs.readFileSync(file);
  const { storyId, format } = await retryWithKey(['import', content], (idempotency) =>
    runIdempotent(db, idempotency, () => importStoryFile(db, content, path.basename(file), { idempotency })),
  );
  const story = await getStory(db, storyId);
  return { storyId, title: story.title, format };
}
