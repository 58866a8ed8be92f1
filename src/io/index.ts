export * from './story-archive.js';
export { exportStoryArchive } from './read-story-archive.js';
export { importStoryArchive, type ImportStoryArchiveOptions } from './write-story-archive.js';
export { formatJsonPath, type ImportIssue } from './validation.js';
export { headPath, takenChoiceNumber } from './head-path.js';
export { parsePythonExport, PYTHON_EXPORT_FORMAT, CONTINUE_CHOICE } from './python-export.js';
export { importStoryFile, type ImportStoryFileResult, type StoryFileFormat } from './import-file.js';
export { exportStoryMarkdown, renderStoryMarkdown, CHOSEN_MARK } from './export-markdown.js';
export { parseStoryMarkdown } from './import-markdown.js';
