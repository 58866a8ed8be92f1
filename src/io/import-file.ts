import { createHash } from 'node:crypto';
import type { Database } from '../db/index.js';
import { AppError } from '../errors.js';
import { parseStoryMarkdown } from './import-markdown.js';
import { parsePythonExport, PYTHON_EXPORT_FORMAT } from './python-export.js';
import { MAX_ARCHIVE_BYTES, STORY_ARCHIVE_FORMAT } from './story-archive.js';
import { importStoryArchive, type ImportedStory, type ImportStoryArchiveOptions } from './write-story-archive.js';
import { isPlainObject, type ImportRepair } from './validation.js';
import { parseTwee } from './parse-twee.js';
import { parseTwineHtml } from './parse-twine-html.js';
import { twineStoryToArchive } from './import-twine.js';

export type StoryFileFormat = 'livingworld/1' | 'livingworld-python/1.0' | 'markdown' | 'twee' | 'twine-html';

export interface ImportStoryFileResult {
  storyId: string;
  format: StoryFileFormat;
  /** What the file held that the story does not carry (a Twine story's macros, scripts, styles…). */
  notCarriedOver: string[];
  /** What was changed so that the file could be imported, each with where it is in the file. */
  repairs: ImportRepair[];
  /** The story imported earlier from the same file, when this import is a copy of it. */
  copyOf?: { storyId: string; title: string };
}

export interface ImportStoryFileOptions extends Pick<ImportStoryArchiveOptions, 'title' | 'ownerId' | 'idempotency'> {
  /** A file imported before (same bytes): `refuse` answers already_imported, `copy` (default) imports it again. */
  duplicates?: 'refuse' | 'copy';
}

const pngSignature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const notAStory = (what: string) =>
  new AppError(
    'validation',
    `This file is ${what}, not a story. Import it as a character into an existing story instead (character card import), or choose a LivingWorld JSON or Markdown export.`,
  );

function looksLikeCharacterCard(value: Record<string, unknown>): boolean {
  if (value['spec'] === 'chara_card_v2' || value['spec'] === 'chara_card_v3') return true;
  // A V1 card is flat: a name with the chat fields, and nothing of a story.
  return typeof value['name'] === 'string' && ('first_mes' in value || 'mes_example' in value || 'personality' in value) && !('scenes' in value);
}

const imported = (
  written: { storyId: string; copyOf?: { storyId: string; title: string } },
  format: StoryFileFormat,
  notes: Partial<Pick<ImportStoryFileResult, 'notCarriedOver' | 'repairs'>> = {},
): ImportStoryFileResult => ({
  storyId: written.storyId,
  format,
  ...(written.copyOf ? { copyOf: written.copyOf } : {}),
  notCarriedOver: notes.notCarriedOver ?? [],
  repairs: notes.repairs ?? [],
});

/**
 * Imports a story file of any format we read: the LivingWorld JSON archive, the Python
 * original's JSON (format_version "1.0"), Markdown (ours or the Python original's), Twee 3 and
 * Twine 2 HTML (a published story or a library; the first story of a library).
 * Character cards are recognised and refused with a pointer to the card import.
 */
export async function importStoryFile(
  db: Database,
  content: string | Buffer,
  filename?: string,
  fileOptions: ImportStoryFileOptions = {},
): Promise<ImportStoryFileResult> {
  const size = typeof content === 'string' ? Buffer.byteLength(content, 'utf8') : content.length;
  if (size > MAX_ARCHIVE_BYTES) {
    throw new AppError('validation', `The file is ${size} bytes; the largest story file accepted is ${MAX_ARCHIVE_BYTES} bytes.`);
  }
  const { duplicates, ...archiveOptions } = fileOptions;
  const options: ImportStoryArchiveOptions = {
    ...archiveOptions,
    importHash: createHash('sha256').update(content).digest('hex'),
    refuseDuplicate: duplicates === 'refuse',
  };
  // The answer a keyed request stores is the whole answer, notes and repairs included, so a replay matches it.
  const importAs = async (archive: unknown, format: StoryFileFormat, notes: Partial<Pick<ImportStoryFileResult, 'notCarriedOver' | 'repairs'>> = {}) => {
    const answerFor = (written: ImportedStory) => imported(written, format, notes);
    return answerFor(await importStoryArchive(db, archive, { ...options, format, answerFor }));
  };
  if (Buffer.isBuffer(content) && content.subarray(0, 8).equals(pngSignature)) throw notAStory('a PNG image (a character card?)');
  const textContent = (typeof content === 'string' ? content : content.toString('utf8')).replace(/^\uFEFF/, '');
  const extension = filename?.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1];

  const trimmed = textContent.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[') || extension === 'json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(textContent);
    } catch (error) {
      throw new AppError('validation', `The file is not valid JSON: ${(error as Error).message}`);
    }
    if (!isPlainObject(parsed)) throw new AppError('validation', 'The file is JSON but not an object; expected a LivingWorld story export.');
    const version = parsed['format_version'];
    if (version === STORY_ARCHIVE_FORMAT) return importAs(parsed, 'livingworld/1');
    if (version === PYTHON_EXPORT_FORMAT) {
      const { archive, repairs } = parsePythonExport(parsed);
      return importAs(archive, 'livingworld-python/1.0', { repairs });
    }
    if (looksLikeCharacterCard(parsed)) throw notAStory('a character card');
    throw new AppError(
      'validation',
      version === undefined
        ? 'The JSON file has no format_version; expected a LivingWorld export ("livingworld/1", or "1.0" from the Python version).'
        : `Unknown format_version ${JSON.stringify(version).slice(0, 40)}; this version reads "${STORY_ARCHIVE_FORMAT}" and "${PYTHON_EXPORT_FORMAT}".`,
    );
  }
  if (extension === 'html' || extension === 'htm' || /<tw-storydata\b/i.test(textContent)) {
    const [first, ...others] = parseTwineHtml(textContent);
    const { archive, notCarriedOver } = twineStoryToArchive(first!, others.map((story) => story.name));
    return importAs(archive, 'twine-html', { notCarriedOver });
  }
  if (extension === 'twee' || extension === 'tw' || trimmed.startsWith('::')) {
    const { archive, notCarriedOver } = twineStoryToArchive(parseTwee(textContent));
    return importAs(archive, 'twee', { notCarriedOver });
  }
  return importAs(parseStoryMarkdown(textContent), 'markdown');
}
