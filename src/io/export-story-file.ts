import type { Queryable } from '../db/index.js';
import { AppError } from '../errors.js';
import { renderStoryMarkdown } from './export-markdown.js';
import { renderStoryTwee } from './export-twee.js';
import { exportStoryArchive } from './read-story-archive.js';

export const storyExportFormats = ['json', 'md', 'twee'] as const;
export type StoryExportFormat = (typeof storyExportFormats)[number];

export interface ExportedStoryFile {
  format: StoryExportFormat;
  mediaType: string;
  filename: string;
  content: string;
}

const mediaTypes: Record<StoryExportFormat, string> = {
  json: 'application/json',
  md: 'text/markdown; charset=utf-8',
  twee: 'text/plain; charset=utf-8',
};

function fileStem(title: string): string {
  return (
    title
      .normalize('NFKD')
      .replace(/[^\p{L}\p{N}]+/gu, '-')
      .replace(/^-+|-+$/g, '')
      .toLowerCase()
      .slice(0, 60) || 'story'
  );
}

/**
 * One story in one of the export formats, with a file name and media type for the CLI and HTTP.
 * The prompts the model was sent stay out unless asked for (`withPrompts`, JSON only): they are
 * large and repeat the story.
 */
export async function exportStoryFile(db: Queryable, storyId: string, format: string, options: { withPrompts?: boolean } = {}): Promise<ExportedStoryFile> {
  if (!(storyExportFormats as readonly string[]).includes(format)) {
    throw new AppError('validation', `Unknown export format "${format.slice(0, 20)}"; choose one of ${storyExportFormats.join(', ')}.`);
  }
  const chosen = format as StoryExportFormat;
  if (options.withPrompts && chosen !== 'json') {
    throw new AppError('validation', 'Prompts are exported only in the JSON format; use format json to include them.', { details: { field: 'withPrompts' } });
  }
  const archive = await exportStoryArchive(db, storyId, { withPrompts: options.withPrompts ?? false });
  const content =
    chosen === 'json' ? `${JSON.stringify(archive, null, 2)}\n` : chosen === 'md' ? renderStoryMarkdown(archive) : renderStoryTwee(archive);
  return { format: chosen, mediaType: mediaTypes[chosen], filename: `${fileStem(archive.story.title)}.${chosen}`, content };
}
