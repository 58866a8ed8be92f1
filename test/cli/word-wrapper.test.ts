import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { WordWrapper } from '../../src/cli/word-wrapper.js';
import { wrapBeside } from '../../src/cli/format.js';

function feed(chunks: string[], widths: number[]): string {
  let out = '';
  let call = 0;
  const wrapper = new WordWrapper((text) => (out += text), () => widths[Math.min(call++, widths.length - 1)]!);
  for (const chunk of chunks) wrapper.push(chunk);
  wrapper.end();
  return out;
}

describe('WordWrapper', () => {
  it('wraps words that arrive split across chunks without breaking them', () => {
    expect(feed(['The bra', 've sail', 'or waits by the ', 'boathouse.'], [12])).toBe('The brave\nsailor waits\nby the\nboathouse.');
  });

  it('keeps paragraph breaks and collapses runs of spaces', () => {
    expect(feed(['One  two.\n\nThree   four'], [40])).toBe('One two.\n\nThree four');
  });

  it('takes a new width from the next word on, as after a terminal resize', () => {
    // Width is asked once per word: 20 for the first three words, then 8.
    expect(feed(['aaa bbb ccc ddd eee'], [20, 20, 20, 8])).toBe('aaa bbb ccc\nddd eee');
  });

  it('breaks only a word longer than a whole line', () => {
    expect(feed(['ab abcdefghij'], [4])).toBe('ab\nabcd\nefgh\nij');
  });
});

describe('wrapBeside', () => {
  const description = 'A dockhand with a tattooed forearm and a jacket two sizes too small.';

  it('lines the text up beside a short prefix', () => {
    expect(wrapBeside('  1. ', 'Head for the lighthouse before the tide turns', 30)).toBe('  1. Head for the lighthouse\n     before the tide turns');
  });

  it('puts the text below a prefix that leaves less than half the line, never one letter a line', () => {
    const prefix = 'Matthias Fairweather (watchful · trust 0.02) — ';
    const lines = wrapBeside(prefix, description, 60).split('\n');
    expect(lines[0]).toBe(prefix.trimEnd());
    expect(lines.slice(1).join(' ').replace(/\s+/g, ' ').trim()).toBe(description);
    for (const line of lines.slice(1)) {
      expect(line.length).toBeLessThanOrEqual(60);
      expect(line.startsWith('  ')).toBe(true);
    }
    expect(lines.length).toBeLessThanOrEqual(3);
  });

  it('breaks a prefix wider than the line at its spaces, styles and all', () => {
    const prefix = '\x1b[1mRosalind Vantongeren\x1b[22m \x1b[2m(watchful · trust 0.02 · feeling 0.00)\x1b[22m — ';
    const lines = wrapBeside(prefix, description, 60).split('\n');
    for (const line of lines) expect(stripVTControlCharacters(line).length).toBeLessThanOrEqual(60);
    expect(lines.map((line) => stripVTControlCharacters(line).trim()).join(' ').replace(/\s+/g, ' ')).toBe(
      `Rosalind Vantongeren (watchful · trust 0.02 · feeling 0.00) — ${description}`,
    );
  });
});
