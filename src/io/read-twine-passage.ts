import { decodeHarloweText, decodeHtmlReferences, joinVerbatim, splitVerbatim } from './harlowe-text.js';

export interface TwineLink {
  label: string;
  target: string;
}

/** What a passage gives a scene, and what of it could not be carried over. */
export interface PassageReading {
  prose: string;
  links: TwineLink[];
  macros: string[];
  scripts: number;
  styles: number;
}

/**
 * A link's inside, as Twine's editor and Harlowe read it: a SugarCube setter (`][…`) is dropped;
 * the rightmost `->` or else the leftmost `<-` separates text from target; else the last `|`.
 */
export function parseLinkInner(inner: string): TwineLink {
  const body = inner.split('][')[0]!;
  const arrow = body.lastIndexOf('->');
  if (arrow !== -1) return { label: body.slice(0, arrow), target: body.slice(arrow + 2) };
  const back = body.indexOf('<-');
  if (back !== -1) return { label: body.slice(back + 2), target: body.slice(0, back) };
  const bar = body.lastIndexOf('|');
  if (bar !== -1) return { label: body.slice(0, bar), target: body.slice(bar + 1) };
  return { label: body, target: body };
}

const stringLiteral = `"(?:[^"\\\\]|\\\\.)*"|'(?:[^'\\\\]|\\\\.)*'`;
const linkGoto = new RegExp(`\\(link-goto:\\s*(${stringLiteral})\\s*(?:,\\s*(${stringLiteral})\\s*)?\\)`, 'gi');
const unquote = (literal: string) => literal.slice(1, -1).replace(/\\(.)/g, '$1');

// Private-use characters stand in for links while the rest of the markup is removed.
const linkMark = (index: number) => `\uE000${index}\uE001`;
const linkMarks = /\uE000(\d+)\uE001/g;
const hasLinkMark = /\uE000\d+\uE001/;

/** Index just past the `)` closing the macro call opened at `start`, skipping strings and nested calls. */
function macroEnd(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  return text.length;
}

/** Harlowe markup outside verbatim: macros (names collected) go, hooks and styling leave their text. */
function stripHarloweMarkup(text: string, macros: string[]): string {
  let out = '';
  for (let i = 0; i < text.length; ) {
    const macro = /^\(([\w-]+|\$\w+):/.exec(text.slice(i, i + 64));
    if (macro) {
      macros.push(macro[1]!.toLowerCase());
      i = macroEnd(text, i);
      continue;
    }
    out += text[i++];
  }
  return out
    .replace(/\|[\w-]+[>)](?=\[)|(?<=\])[<(][\w-]+\|/g, '')
    .replace(/[[\]]/g, '')
    .replace(/\$[A-Za-z_]\w*|\b_[A-Za-z]\w*/g, '');
}

/**
 * Reads a passage of a Twine story into prose and links. Links are `[[…]]` and Harlowe's
 * `(link-goto:)`; a line holding only links is dropped (they become the choices), a link inside
 * a sentence leaves its text. Scripts, styles, comments and macros (Harlowe's `(name: …)` for
 * Harlowe stories, `<<name …>>` for any) are removed and counted. Verbatim and character
 * references are decoded, so a story we exported reads back as its prose.
 */
export function readTwinePassage(source: string, format: 'harlowe' | 'other'): PassageReading {
  const links: TwineLink[] = [];
  const macros: string[] = [];
  let scripts = 0;
  let styles = 0;
  let text = source.replace(/[\uE000\uE001]/g, '').replace(/\r\n?/g, '\n');
  text = text.replace(/<script\b[^>]*>[\s\S]*?<\/script\s*>/gi, () => (scripts++, ''));
  text = text.replace(/<style\b[^>]*>[\s\S]*?<\/style\s*>/gi, () => (styles++, ''));
  text = text.replace(/<!--[\s\S]*?-->/g, '');
  text = text.replace(/\[\[(.*?)\]\]/g, (_whole, inner: string) => {
    const link = parseLinkInner(inner);
    links.push({ label: format === 'harlowe' ? decodeHarloweText(link.label) : decodeHtmlReferences(link.label), target: link.target });
    return linkMark(links.length - 1);
  });
  if (format === 'harlowe') {
    text = text.replace(linkGoto, (_whole, first: string, second: string | undefined) => {
      links.push({ label: unquote(first), target: unquote(second ?? first) });
      return linkMark(links.length - 1);
    });
  }
  text = text.replace(/<<\/?([\w-]+)(?:[^>]|>(?!>))*>>/g, (_whole, name: string) => (macros.push(name.toLowerCase()), ''));

  if (format === 'harlowe') {
    // Verbatim runs are text; markup only outside them.
    text = joinVerbatim(splitVerbatim(text), (markup) => decodeHtmlReferences(stripHarloweMarkup(markup, macros)));
  } else {
    text = decodeHtmlReferences(text);
  }
  text = text.replace(/<br\s*\/?>/gi, '\n').replace(/<\/?[A-Za-z][\w-]*(?:\s[^<>]*)?>/g, '');

  const prose = text
    .split('\n')
    .filter((line) => !(hasLinkMark.test(line) && line.replace(linkMarks, '').replace(/[\s\p{P}]/gu, '') === ''))
    .map((line) => line.replace(linkMarks, (_mark, index: string) => links[Number(index)]!.label).trimEnd())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return { prose, links, macros, scripts, styles };
}
