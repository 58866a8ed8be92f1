export * from './story-archive.js';
export { exportStoryArchive } from './read-story-archive.js';
export { importStoryArchive, type ImportStoryArchiveOptions } from './write-story-archive.js';
export { formatJsonPath, type ImportIssue } from './validation.js';
