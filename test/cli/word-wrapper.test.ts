import { describe, expect, it } from 'vitest';
import { WordWrapper } from '../../src/cli/word-wrapper.js';

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
