import { importValidationError } from './validation.js';
import type { TwinePassage, TwineStory } from './twine-story.js';

/** Twee 3 decoding: any backslash-escaped character yields the character. */
function unescapeHeaderText(value: string): string {
  return value.replace(/\\(.)/gs, '$1');
}

/** The position of the first unescaped `char` in `text` from `from`, or -1. */
function findUnescaped(text: string, char: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === char) return i;
  }
  return -1;
}

/** `:: Name [tag1 tag2] {"position":"…"}`: the name and tags (metadata is positions only; not kept). */
function parseHeader(line: string): { name: string; tags: string[] } {
  const rest = line.slice(2);
  const tagStart = findUnescaped(rest, '[', 0);
  const metaStart = findUnescaped(rest, '{', 0);
  const nameEnd = [tagStart, metaStart].filter((i) => i !== -1).reduce((a, b) => Math.min(a, b), rest.length);
  const name = unescapeHeaderText(rest.slice(0, nameEnd).trim());
  let tags: string[] = [];
  if (tagStart !== -1 && tagStart === nameEnd) {
    const tagEnd = findUnescaped(rest, ']', tagStart + 1);
    const block = rest.slice(tagStart + 1, tagEnd === -1 ? rest.length : tagEnd);
    tags = block.split(/\s+/).filter(Boolean).map(unescapeHeaderText);
  }
  return { name, tags };
}

function readStoryData(text: string): Record<string, unknown> {
  try {
    const data: unknown = JSON.parse(text);
    return typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
  } catch {
    // Twee 3: a StoryData that does not decode is discarded, and the story still compiles.
    return {};
  }
}

const stringOrNull = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value : null);

/**
 * Reads a Twee 3 file (iftechfoundation/twine-specs, twee-3-specification.md): passages open
 * with a `::` line and run to the next; trailing blank lines are dropped; StoryTitle and
 * StoryData describe the story. A content line escaped as `\::` is read as `::`.
 */
export function parseTwee(source: string): TwineStory {
  const lines = source.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n').split('\n');
  const raw: { name: string; tags: string[]; lines: string[] }[] = [];
  for (const line of lines) {
    if (line.startsWith('::')) raw.push({ ...parseHeader(line), lines: [] });
    else raw.at(-1)?.lines.push(line.startsWith('\\::') ? line.slice(1) : line);
  }
  if (raw.length === 0) throw importValidationError('Twee file', [{ path: 'line 1', message: 'has no passage header (a line starting with "::")' }]);
  const passages: TwinePassage[] = raw.map((passage) => {
    const body = [...passage.lines];
    while (body.length > 0 && body.at(-1)!.trim() === '') body.pop();
    return { name: passage.name, tags: passage.tags, text: body.join('\n') };
  });
  const special = (name: string) => passages.find((p) => p.name === name);
  const data = readStoryData(special('StoryData')?.text ?? '');
  return {
    name: special('StoryTitle')?.text.trim() || 'Imported Twine story',
    ifid: stringOrNull(data['ifid']),
    format: stringOrNull(data['format']),
    formatVersion: stringOrNull(data['format-version']),
    start: stringOrNull(data['start']) ?? (special('Start') ? 'Start' : null),
    passages: passages.filter((p) => p.name !== 'StoryTitle' && p.name !== 'StoryData'),
    hasStoryScript: false,
    hasStoryStylesheet: false,
  };
}
