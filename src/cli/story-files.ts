import fs from 'node:fs';
import path from 'node:path';
import type { Database, Queryable } from '../db/index.js';
import { AppError } from '../errors.js';
import { exportStoryArchive, exportStoryMarkdown, exportStoryTwee, importStoryFile, MAX_ARCHIVE_BYTES } from '../io/index.js';
import { getStory } from '../story/story-repo.js';

export const exportFormats = ['json', 'md', 'twee'] as const;
export type ExportFormat = (typeof exportFormats)[number];

/** The story in one of the export formats, as the text to write. */
export async function exportStoryAs(db: Queryable, storyId: string, format: string): Promise<string> {
  switch (format) {
    case 'json':
      return `${JSON.stringify(await exportStoryArchive(db, storyId), null, 2)}\n`;
    case 'md':
    case 'markdown':
      return exportStoryMarkdown(db, storyId);
    case 'twee':
      return exportStoryTwee(db, storyId);
    default:
      throw new AppError('validation', `Unknown export format '${format}'; use json, md or twee.`, { details: { field: 'format' } });
  }
}

export async function importStoryFromFile(db: Database, file: string): Promise<{ storyId: string; title: string }> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new AppError('not_found', `Cannot read ${file}: no such file.`);
  }
  if (stat.size > MAX_ARCHIVE_BYTES) {
    throw new AppError('payload_too_large', `${file} is ${stat.size} bytes; the import limit is ${MAX_ARCHIVE_BYTES} bytes.`);
  }
  const { storyId } = await importStoryFile(db, fs.readFileSync(file), path.basename(file));
  const story = await getStory(db, storyId);
  return { storyId, title: story.title };
}
