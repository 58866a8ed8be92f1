/**
 * Text that Harlowe shows exactly as written. Harlowe reads markup anywhere in a passage
 * (macros, hooks, styling, links, HTML), so prose goes inside verbatim markup: a run of
 * backticks longer than any run inside the text opens and closes it, and Harlowe prints the
 * contents HTML-escaped. What cannot sit inside (a backtick at either end, which would merge
 * with the fence, and characters a format's link syntax reacts to) is written as a numeric
 * HTML character reference outside it, which Harlowe passes to the page as that character.
 * Whitespace at either end of a run stays outside too: older Harlowe trims it inside.
 */

const characterReference = (char: string) => `&#${char.codePointAt(0)};`;

function verbatim(run: string): string {
  const longest = Math.max(0, ...[...run.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${run}${fence}`;
}

/** Whitespace and backticks at either end go outside (as themselves and as references), the rest verbatim. */
function encodeRun(run: string): string {
  let head = '';
  let tail = '';
  let core = run;
  for (;;) {
    const edge = /^\s*(`*)/.exec(core)!;
    head += edge[0].slice(0, edge[0].length - edge[1]!.length) + [...edge[1]!].map(characterReference).join('');
    core = core.slice(edge[0].length);
    if (edge[1] === '') break;
  }
  for (;;) {
    const edge = /(`*)\s*$/.exec(core)!;
    tail = [...edge[1]!].map(characterReference).join('') + edge[0].slice(edge[1]!.length) + tail;
    core = core.slice(0, core.length - edge[0].length);
    if (edge[1] === '') break;
  }
  return head + (core === '' ? '' : verbatim(core)) + tail;
}

/** One line (no line breaks) as Harlowe text; `asReference(line, i)` forces the character at i out of the verbatim runs. */
function encodeLine(line: string, asReference: (line: string, index: number) => boolean): string {
  let out = '';
  let runStart = 0;
  for (let i = 0; i < line.length; i++) {
    if (!asReference(line, i)) continue;
    out += encodeRun(line.slice(runStart, i)) + characterReference(line[i]!);
    runStart = i + 1;
  }
  return out + encodeRun(line.slice(runStart));
}

/**
 * Prose for a passage: each line verbatim. The first `[` of `[[` and the first `]` of `]]` are
 * character references, so that no tool scanning Twee for `[[links]]` (Twine's editor draws
 * them as arrows) mistakes prose for a link; no line can start with `::` (a passage header).
 */
export function encodeHarloweProse(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => encodeLine(line, (l, i) => (l[i] === '[' && l[i + 1] === '[') || (l[i] === ']' && l[i + 1] === ']')))
    .join('\n');
}

// `[ ]` end a link, `|` `<` `>` make `|`, `->` and `<-` separators in Harlowe's and Twine's link readers.
const linkSyntax = new Set(['[', ']', '|', '<', '>']);

/**
 * A link's text for `[[text->Target]]`: Harlowe renders link text as markup, so it is verbatim
 * too, with the link syntax characters as references; line breaks become spaces.
 */
export function encodeHarloweLinkText(label: string): string {
  const oneLine = label.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  return encodeLine(oneLine, (l, i) => linkSyntax.has(l[i]!));
}

const namedReferences: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/** Decodes HTML character references (numeric, and the few named ones Twine writes); unknown names stay as written. */
export function decodeHtmlReferences(text: string): string {
  return text.replace(/&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});/g, (whole, body: string) => {
    if (body.startsWith('#')) {
      const code = body[1] === 'x' || body[1] === 'X' ? Number.parseInt(body.slice(2), 16) : Number.parseInt(body.slice(1), 10);
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : whole;
    }
    return namedReferences[body] ?? whole;
  });
}

/**
 * Harlowe source as alternating markup and verbatim contents: `markup[0] verbatim[0] markup[1] …`.
 * A run of N backticks opens verbatim and the next run of exactly N closes it; an unclosed run is markup.
 */
export function splitVerbatim(text: string): { markup: string[]; verbatim: string[] } {
  const markup: string[] = [];
  const verbatim: string[] = [];
  let at = 0;
  const fence = /`+/g;
  for (let match = fence.exec(text); match; match = fence.exec(text)) {
    const close = new RegExp(`(?<!\`)${match[0]}(?!\`)`, 'g');
    close.lastIndex = match.index + match[0].length;
    const end = close.exec(text);
    if (!end) break;
    markup.push(text.slice(at, match.index));
    verbatim.push(text.slice(match.index + match[0].length, end.index));
    at = end.index + match[0].length;
    fence.lastIndex = at;
  }
  markup.push(text.slice(at));
  return { markup, verbatim };
}

/** Joins a split back, each markup part passed through `renderMarkup` and verbatim kept as written. */
export function joinVerbatim(parts: { markup: string[]; verbatim: string[] }, renderMarkup: (markup: string) => string): string {
  return parts.markup.map((markup, index) => renderMarkup(markup) + (parts.verbatim[index] ?? '')).join('');
}

/**
 * The reverse of the encoders for text read from a Twine story: verbatim runs are taken as
 * written and references outside them decoded, so a story exported by us reads back as its prose.
 */
export function decodeHarloweText(text: string): string {
  return joinVerbatim(splitVerbatim(text), decodeHtmlReferences);
}
