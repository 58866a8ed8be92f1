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
  /** Text of Harlowe conditional branches that the scene does not show (see `stripHarloweMarkup`). */
  droppedBranches: string[];
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

/** Index just past the `]` closing the hook opened at `start`, or -1 when it is not closed. */
function hookEnd(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    if (text[i] === '[') depth++;
    else if (text[i] === ']' && --depth === 0) return i + 1;
  }
  return -1;
}

/** A condition decided without running the story: the literals true and false (and their `not`). */
function decideStatically(condition: string): boolean | undefined {
  let text = condition.trim();
  let negate = false;
  while (/^not\s+/i.test(text)) {
    negate = !negate;
    text = text.replace(/^not\s+/i, '');
  }
  if (/^true$/i.test(text)) return !negate;
  if (/^false$/i.test(text)) return negate;
  return undefined;
}

const conditionals = new Set(['if', 'unless', 'else-if', 'elseif', 'else']);

/**
 * Harlowe markup outside verbatim: macros (names collected) go, hooks and styling leave their
 * text. A scene is static prose, so of a conditional chain — `(if:)[…]` or `(unless:)[…]`,
 * then any `(else-if:)[…]` and `(else:)[…]` — the reader gets one branch: the first whose
 * condition holds or cannot be decided when importing (a variable, say), or the `(else:)`
 * when every condition is plainly false. The other branches' text goes to `dropped`.
 */
function stripHarloweMarkup(text: string, macros: string[], dropped: string[]): string {
  let out = '';
  // Whether the current chain has shown a branch; null before any (if:) in this text.
  let chainShown: boolean | null = null;
  for (let i = 0; i < text.length; ) {
    const macro = /^\(([\w-]+|\$\w+):/.exec(text.slice(i, i + 64));
    if (!macro) {
      out += text[i++];
      continue;
    }
    const name = macro[1]!.toLowerCase();
    macros.push(name);
    const end = macroEnd(text, i);
    const hookStart = end + (/^\s*/.exec(text.slice(end))?.[0].length ?? 0);
    const hookClose = conditionals.has(name) && text[hookStart] === '[' ? hookEnd(text, hookStart) : -1;
    if (hookClose === -1) {
      i = end;
      continue;
    }
    const condition = text.slice(i + macro[0].length, end - 1);
    let show: boolean;
    if (name === 'else') show = chainShown !== true;
    else if ((name === 'else-if' || name === 'elseif') && chainShown === true) show = false;
    else {
      const decided = decideStatically(condition);
      show = decided === undefined ? true : name === 'unless' ? !decided : decided;
    }
    chainShown = name === 'if' || name === 'unless' ? show : chainShown === true || show;
    const hook = text.slice(hookStart + 1, hookClose - 1);
    if (show) out += hook;
    else if (hook.trim() !== '') dropped.push(hook.trim());
    i = hookClose;
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
  const droppedBranches: string[] = [];
  let scripts = 0;
  let styles = 0;
  let text = source.replace(/[\uE000\uE001]/g, '').replace(/\r\n?/g, '\n');
  text = text.replace(/<script\b[^>]*>[\s\S]*?<\/script\s*>/gi, () => (scripts++, ''));
  text = text.replace(/<style\b[^>]*>[\s\S]*?<\/style\s*>/gi, () => (styles++, ''));
  text = text.replace(/<!--[\s\S]*?-->/g, '');
  // `[[[Link]]]` is a hook holding a link (Harlowe): the link is the innermost `[[…]]`.
  text = text.replace(/\[\[(?!\[)(.*?)\]\]/g, (_whole, inner: string) => {
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
    text = joinVerbatim(splitVerbatim(text), (markup) => decodeHtmlReferences(stripHarloweMarkup(markup, macros, droppedBranches)));
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
  // Links inside a dropped branch are not choices of the scene either.
  const droppedLinks = new Set(droppedBranches.flatMap((branch) => [...branch.matchAll(linkMarks)].map((mark) => Number(mark[1]))));
  const dropped = droppedBranches.map((branch) =>
    decodeHtmlReferences(branch.replace(linkMarks, (_mark, index: string) => links[Number(index)]!.label).replace(/[[\]]/g, '').replace(/\s+/g, ' ')),
  );
  return { prose, links: links.filter((_link, index) => !droppedLinks.has(index)), macros, scripts, styles, droppedBranches: dropped };
}
