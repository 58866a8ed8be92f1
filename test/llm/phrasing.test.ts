import { describe, expect, it } from 'vitest';
import { agree, isPluralPhrase } from '../../src/llm/providers/offline/phrasing.js';

describe('offline storyteller phrasing: agreement with a noun phrase', () => {
  it.each([
    ['the debts', true],
    ['the docks', true],
    ['the letters of the keeper', true],
    ['the keeper of the letters', false],
    ["the ferryman's ledgers", true],
    ['the old mill by the river', false],
    ['the news', false],
    ['the brass spyglass', false],
    ['the salt-works', true],
    ['the children', true],
  ])('"%s" is plural: %s', (phrase, plural) => {
    expect(isPluralPhrase(phrase)).toBe(plural);
    expect(agree(phrase, 'matters', 'matter')).toBe(plural ? 'matter' : 'matters');
  });
});
