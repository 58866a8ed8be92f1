/**
 * How Harlowe and Twine's editor read passage text, written from their published rules
 * (Harlowe's markup patterns, Twine 2's link parser) independently of src/io, so the
 * export is checked against the readers and not against itself.
 */

/** Harlowe's passageLink: `[[` not followed by `[`, text without `]`, the rightmost `->` or `|`, a target without `]`, `]]`. */
export function harloweLinks(text: string): { text: string; passage: string }[] {
  return [...text.matchAll(/\[\[(?!\[)([^\]]*)(?:->|\|)([^\]]*)\]\]/g)].map((m) => ({ text: m[1]!, passage: m[2]! }));
}

/** Twine 2's editor (the story map's arrows): `[[…]]` up to the first `]]`, setter dropped, rightmost `->`, leftmost `<-`, last `|`. */
export function twineEditorLinkTargets(text: string): string[] {
  return [...text.matchAll(/\[\[(.*?)\]\]/g)].map((m) => {
    const inner = m[1]!.split('][')[0]!;
    const arrow = /^((?:[^<]|<(?!-))+)<-.*$|^.*->(.*)$/.exec(inner);
    if (arrow) return arrow[2] ?? arrow[1]!;
    const bar = inner.split('|');
    return bar.at(-1)!;
  });
}

/** Splits Harlowe source into verbatim runs (a run of N backticks to the next run of exactly N) and the markup between them. */
export function verbatimSplit(text: string): { verbatim: string[]; outside: string[] } {
  const verbatim: string[] = [];
  const outside: string[] = [];
  let at = 0;
  let i = 0;
  while (i < text.length) {
    if (text[i] !== '`') {
      i++;
      continue;
    }
    let n = 0;
    while (text[i + n] === '`') n++;
    let j = i + n;
    let close = -1;
    while (j < text.length) {
      if (text[j] === '`') {
        let m = 0;
        while (text[j + m] === '`') m++;
        if (m === n) {
          close = j;
          break;
        }
        j += m;
      } else j++;
    }
    if (close === -1) break;
    outside.push(text.slice(at, i));
    verbatim.push(text.slice(i + n, close));
    at = close + n;
    i = at;
  }
  outside.push(text.slice(at));
  return { verbatim, outside };
}

/** What Harlowe shows for text that is verbatim runs, whitespace and numeric character references only. */
export function harloweShownText(text: string): string {
  const { verbatim, outside } = verbatimSplit(text);
  const decode = (s: string) => s.replace(/&#(\d+);/g, (_m, code: string) => String.fromCodePoint(Number(code)));
  return outside.map((part, index) => decode(part) + (verbatim[index] ?? '')).join('');
}

/** True when nothing outside the verbatim runs can be markup: only whitespace and numeric character references. */
export function onlyInertOutsideVerbatim(text: string): boolean {
  return verbatimSplit(text).outside.every((part) => /^(?:\s|&#\d+;)*$/.test(part));
}
