import { decodeHtmlReferences } from './harlowe-text.js';
import { importValidationError } from './validation.js';
import type { TwinePassage, TwineStory } from './twine-story.js';

function attributes(tag: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const match of tag.matchAll(/([A-Za-z_:][-A-Za-z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g)) {
    found.set(match[1]!.toLowerCase(), decodeHtmlReferences(match[2] ?? match[3] ?? match[4] ?? ''));
  }
  return found;
}

const nonEmpty = (value: string | undefined) => (value !== undefined && value.trim() !== '' ? value : null);

function hasContent(body: string, type: string): boolean {
  const pattern = new RegExp(`<(script|style)\\b[^>]*type\\s*=\\s*["']?${type}["']?[^>]*>([\\s\\S]*?)</\\1\\s*>`, 'gi');
  return [...body.matchAll(pattern)].some((match) => match[2]!.trim() !== '');
}

/**
 * Reads the stories of a Twine 2 HTML file (twine-2-htmloutput-spec.md): a published story
 * (a full page holding one `<tw-storydata>`) or a library archive (several, one after
 * another). Passage text is the element's HTML-escaped text; `startnode` names the start by pid.
 */
export function parseTwineHtml(source: string): TwineStory[] {
  const stories: TwineStory[] = [];
  for (const match of source.matchAll(/<tw-storydata\b([^>]*)>([\s\S]*?)<\/tw-storydata\s*>/gi)) {
    const story = attributes(match[1]!);
    const body = match[2]!;
    const byPid = new Map<string, string>();
    const passages: TwinePassage[] = [];
    for (const element of body.matchAll(/<tw-passagedata\b([^>]*)>([\s\S]*?)<\/tw-passagedata\s*>/gi)) {
      const passage = attributes(element[1]!);
      const name = passage.get('name') ?? '';
      const pid = passage.get('pid');
      if (pid !== undefined) byPid.set(pid, name);
      passages.push({ name, tags: (passage.get('tags') ?? '').split(/\s+/).filter(Boolean), text: decodeHtmlReferences(element[2]!) });
    }
    const startNode = story.get('startnode');
    stories.push({
      name: nonEmpty(story.get('name')) ?? 'Imported Twine story',
      ifid: nonEmpty(story.get('ifid')),
      format: nonEmpty(story.get('format')),
      formatVersion: nonEmpty(story.get('format-version')),
      start: (startNode !== undefined ? byPid.get(startNode) : undefined) ?? null,
      passages,
      hasStoryScript: hasContent(body, 'text/twine-javascript'),
      hasStoryStylesheet: hasContent(body, 'text/twine-css'),
    });
  }
  if (stories.length === 0) {
    throw importValidationError('Twine 2 HTML file', [{ path: '(root)', message: 'has no <tw-storydata> element; it is not a Twine 2 story or library' }]);
  }
  return stories;
}
