import { stripVTControlCharacters } from 'node:util';
import { OFFLINE_SCENE_LABEL, type SceneView } from '../story/scene-view.js';
import { WordWrapper } from './word-wrapper.js';
import type { CharacterSummary } from '../characters/character-views.js';
import { replaceMacros } from '../story/macros.js';

const useColor = process.stdout.isTTY && !process.env['NO_COLOR'];
export const style = {
  bold: (s: string) => (useColor ? `\x1b[1m${s}\x1b[22m` : s),
  dim: (s: string) => (useColor ? `\x1b[2m${s}\x1b[22m` : s),
  cyan: (s: string) => (useColor ? `\x1b[36m${s}\x1b[39m` : s),
  yellow: (s: string) => (useColor ? `\x1b[33m${s}\x1b[39m` : s),
  red: (s: string) => (useColor ? `\x1b[31m${s}\x1b[39m` : s),
};

/**
 * How wide a line of prose may be: the terminal's width less one column (writing into the
 * last column leaves some terminals waiting to wrap, and the next newline then makes an
 * empty row), at most 100 for reading; 88 when the output is not a terminal.
 */
export function lineWidth(): number {
  const columns = process.stdout.columns;
  return columns ? Math.max(1, Math.min(columns - 1, 100)) : 88;
}

const belowIndent = '  ';

/** Wraps prose to the terminal width without breaking words. */
export function wrap(text: string, width = lineWidth()): string {
  let wrapped = '';
  const wrapper = new WordWrapper((piece) => (wrapped += piece), () => width);
  wrapper.push(text);
  wrapper.end();
  return wrapped;
}

/**
 * `prefix` then the text wrapped beside it, its later lines indented to line up under the first.
 * A prefix that leaves less than half the line (a long name with its mood and standing in a
 * narrow terminal) would squeeze the text into a column a few letters wide, one letter a line
 * once the prefix is wider than the terminal: the text then goes below it, indented.
 */
export function wrapBeside(prefix: string, text: string, width = lineWidth()): string {
  const indent = stripVTControlCharacters(prefix).length;
  if (width - indent < Math.max(20, Math.floor(width / 2))) {
    const below = wrap(text, Math.max(1, width - belowIndent.length)).split('\n');
    return [...wrapStyled(prefix.trimEnd(), width), ...below.map((line) => belowIndent + line)].join('\n');
  }
  const lines = wrap(text, Math.max(1, width - indent)).split('\n');
  return lines.map((line, i) => (i === 0 ? prefix : ' '.repeat(indent)) + line).join('\n');
}

/**
 * Styled text (a bold name, a dim standing) in lines of at most `width` visible columns, broken
 * at spaces; a style open at a line's end carries on in the terminal, as it should.
 */
function wrapStyled(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const longer = line === '' ? word : `${line} ${word}`;
    if (line !== '' && stripVTControlCharacters(longer).length > width) {
      lines.push(line);
      line = word;
    } else {
      line = longer;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

export function renderChoices(scene: SceneView): string {
  return scene.choices.map((choice) => wrapBeside(`  ${style.bold(`${choice.number}.`)} `, choice.content)).join('\n');
}

/** "— Scene 3 · offline storyteller —": a written scene, or the one being written by this provider. */
export function renderSceneHeader(scene: Pick<SceneView, 'sceneNumber' | 'offline' | 'provider' | 'model'>): string {
  const source = scene.offline ? OFFLINE_SCENE_LABEL : `${scene.provider ?? 'model'} ${scene.model ?? ''}`.trim();
  return style.dim(`— Scene ${scene.sceneNumber} · ${source} —`);
}

/** The whole scene as the terminal shows it. */
export function renderScene(scene: SceneView, options: { includeProse?: boolean } = {}): string {
  // Streamed prose was printed under its own header already.
  const parts: string[] = [];
  if (options.includeProse !== false) parts.push(renderSceneHeader(scene), wrap(scene.content));
  const present = scene.characters.filter((c) => c.role === 'present').map((c) => c.name);
  if (present.length > 0) parts.push(style.dim(wrap(`Here: ${present.join(', ')}`)));
  parts.push(renderChoices(scene));
  return parts.join('\n\n');
}

/** One line of `characters`: name, mood and standing, and the description as the reader sees it. */
export function formatCharacterLine(character: CharacterSummary, playerName: string): string {
  const standing = character.playerTrust === null ? '' : ` · trust ${character.playerTrust.toFixed(2)} · feeling ${(character.playerSentiment ?? 0).toFixed(2)}`;
  // A card's text keeps {{char}} and {{user}} when stored; the reader sees the names.
  const heading = `${style.bold(character.name)} ${style.dim(`(${character.mood}${standing}${character.met ? '' : ' · not met yet'})`)}`;
  if (!character.description) return heading;
  const description = replaceMacros(character.description, { char: character.name, user: playerName });
  // At a terminal the description wraps beside the name; piped, the line stays whole for programs.
  return process.stdout.isTTY ? wrapBeside(`${heading} — `, description) : `${heading} — ${description}`;
}
