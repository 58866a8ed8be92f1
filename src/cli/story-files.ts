import fs from 'node:fs';
import path from 'node:path';
import type { Database, Queryable } from '../db/index.js';
import { AppError } from '../errors.js';
import { exportStoryFile, importStoryFile, MAX_ARCHIVE_BYTES, type ImportStoryFileResult } from '../io/index.js';
import { getStory } from '../story/story-repo.js';

/** The story in one of the export formats (json, md, twee), as the text to write. */
export async function exportStoryAs(db: Queryable, storyId: string, format: string): Promise<string> {
  return (await exportStoryFile(db, storyId, format === 'markdown' ? 'md' : format)).content;
}

export async function importStoryFromFile(db: Database, file: string): Promise<ImportStoryFileResult & { title: string }> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new AppError('not_found', `Cannot read ${file}: no such file.`);
  }
  if (stat.size > MAX_ARCHIVE_BYTES) {
    throw new AppError('payload_too_large', `${file} is ${stat.size} bytes; the import limit is ${MAX_ARCHIVE_BYTES} bytes.`);
  }
  const result = await importStoryFile(db, fs.readFileSync(file), path.basename(file));
  const story = await getStory(db, result.storyId);
  return { ...result, title: story.title };
}

/** The import's answer for a person: what was repaired and what was not carried over, one line each. */
export function describeImport(result: ImportStoryFileResult & { title: string }): string {
  return [
    `Imported "${result.title}" as ${result.storyId}.`,
    ...result.repairs.map((repair) => `  repaired ${repair.path}: ${repair.repair}`),
    ...result.notCarriedOver.map((note) => `  not carried over: ${note}`),
  ].join('\n');
}
