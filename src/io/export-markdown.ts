import type { Queryable } from '../db/index.js';
import { exportStoryArchive } from './read-story-archive.js';
import { headPath, takenChoiceNumber } from './head-path.js';
import type { StoryArchive } from './story-archive.js';
import { OFFLINE_SCENE_LABEL } from '../story/scene-view.js';

export const CHOSEN_MARK = '← chosen';

// Prose lines that would read as our own structure are escaped with a backslash, which
// Markdown renders away and importMarkdown removes again (lines starting with \ get one too).
const structuralLine = /^(\s*#|\s*(-\s*){3,}$|\s*(\*\s*){3,}$|\s*(_\s*){3,}$|\s*\*\*Choices:\*\*|\\)/;

export function escapeMarkdownProse(prose: string): string {
  return prose
    .split('\n')
    .map((line) => (structuralLine.test(line) ? `\\${line}` : line))
    .join('\n');
}

const oneLine = (value: string) => value.replace(/\s*[\r\n]+\s*/g, ' ').trim();

function formatExportDate(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/**
 * The head path as readable prose in the Python original's layout: `# Title`, an italic
 * exported-on line, `---`, then per scene `## Scene N` (`## Scene N · offline storyteller` for the
 * offline storyteller's scenes), the prose, `**Choices:**`, the numbered
 * choices with the one taken in bold and marked `← chosen` (followed by the player's
 * instruction in italic parentheses, when there was one), `---`. Choice text is kept on one
 * line (line breaks inside a choice become spaces).
 */
export function renderStoryMarkdown(archive: StoryArchive): string {
  const out: string[] = [`# ${oneLine(archive.story.title)}`, '', `*Exported on ${formatExportDate(archive.exported_at)}*`, '', '---', ''];
  const path = headPath(archive);
  path.forEach((scene, index) => {
    const next = path[index + 1];
    const taken = takenChoiceNumber(scene, next);
    out.push(`## Scene ${scene.scene_number}${scene.provider === 'offline' ? ` · ${OFFLINE_SCENE_LABEL}` : ''}`, '', escapeMarkdownProse(scene.content.replace(/\r\n?/g, '\n').replace(/^\n+|\s+$/g, '')), '', '**Choices:**');
    for (const choice of scene.choices) {
      const content = oneLine(choice.content);
      if (choice.number === taken) {
        const instruction = next?.instruction ? ` *(${oneLine(next.instruction)})*` : '';
        out.push(`${choice.number}. **${content}** ${CHOSEN_MARK}${instruction}`);
      } else {
        out.push(`${choice.number}. ${content}`);
      }
    }
    out.push('', '---', '');
  });
  return out.join('\n');
}

export async function exportStoryMarkdown(db: Queryable, storyId: string): Promise<string> {
  return renderStoryMarkdown(await exportStoryArchive(db, storyId));
}
