import fs from 'node:fs';
import path from 'node:path';
import type { Database, Queryable } from '../db/index.js';
import { AppError, isAppError } from '../errors.js';
import { exportStoryFile, importStoryFile, MAX_ARCHIVE_BYTES, type ImportStoryFileResult } from '../io/index.js';
import { getStory } from '../story/story-repo.js';
import { confirm } from './confirm.js';
import type { LineReader } from './line-reader.js';
import { runIdempotent } from '../idempotency/index.js';
import { retryWithKey } from './retry-with-key.js';

/** The story in one of the export formats (json, md, twee), as the text to write. */
export async function exportStoryAs(db: Queryable, storyId: string, format: string, options: { withPrompts?: boolean } = {}): Promise<string> {
  return (await exportStoryFile(db, storyId, format === 'markdown' ? 'md' : format, options)).content;
}

export type ImportedStory = ImportStoryFileResult & { title: string };

/**
 * Imports a story file. A file imported before is named and, unless `yes`, the player is
 * asked before a copy is made; undefined when they say no.
 */
export async function importStoryFromFile(db: Database, file: string, options: { yes?: boolean; reader?: LineReader } = {}): Promise<ImportedStory | undefined> {
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
  // Each attempt runs under one key, so a retry after a lost reply does not import twice; a
  // replayed answer carries only the story and format, hence the defaults.
  const importAs = (duplicates: 'refuse' | 'copy') =>
    retryWithKey(['import', duplicates, content], (idempotency) =>
      runIdempotent(db, idempotency, () => importStoryFile(db, content, path.basename(file), { duplicates, idempotency })),
    );
  let result: ImportStoryFileResult;
  try {
    result = await importAs(options.yes ? 'copy' : 'refuse');
  } catch (error) {
    if (!isAppError(error, 'already_imported')) throw error;
    if (!(await confirm(`${error.message} Import another copy?`, options))) return undefined;
    result = await importAs('copy');
  }
  const story = await getStory(db, result.storyId);
  return { ...result, notCarriedOver: result.notCarriedOver ?? [], repairs: result.repairs ?? [], title: story.title };
}

/** The import's answer for a person: what was repaired and what was not carried over, one line each. */
export function describeImport(result: ImportedStory): string {
  return [
    `Imported "${result.title}" as ${result.storyId}${result.copyOf ? `, a copy of ${result.copyOf.storyId}` : ''}.`,
    ...result.repairs.map((repair) => `  repaired ${repair.path}: ${repair.repair}`),
    ...result.notCarriedOver.map((note) => `  not carried over: ${note}`),
  ].join('\n');
}
