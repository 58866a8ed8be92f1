import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chooseLore, type LoreScan } from '../../src/memory/select-lore.js';
import type { LoreEntry } from '../../src/memory/lore-repo.js';
import { worldInfoCodec } from '../../src/io/lore-codecs.js';
import { keywordMatches } from '../../src/memory/lore-keys.js';

const book = JSON.parse(fs.readFileSync('test/fixtures/cards/every-option.world-info.json', 'utf8')) as { entries: Record<string, Record<string, never>> };

/** The fixture's entries as stored lore, read the way the import reads them (one without content is not lore). */
const entries: LoreEntry[] = Object.entries(book.entries).filter(([, entry]) => entry['content'] !== '').map(([key, entry]) => ({
  ...worldInfoCodec.read(entry, `Entry ${key}`),
  id: `00000000-0000-4000-8000-${key.padStart(12, '0')}`,
  storyId: 's',
  metadata: {},
  version: 0,
  createdAt: new Date(0),
  updatedAt: new Date(0),
}));

function chosen(queryText: string, scan: Partial<LoreScan> = {}): string[] {
  const selected = chooseLore(entries, { recentScenes: [], queryText, seed: 1, scanDepth: 2, tokenBudget: 5000, ...scan });
  return [...selected.beforeCharacters, ...selected.afterCharacters, ...selected.atDepth].map((item) => item.text.split(': ')[1]!.split(':')[0]!);
}

describe('lore selection with World Info semantics', () => {
  it('always holds constant entries and never disabled ones; an empty key matches nothing', () => {
    expect(chosen('Nothing here at all.')).toEqual(['CONSTANT-SKY']);
    expect(chosen('lamp')).not.toContain('DISABLED-LAMP');
    expect(chosen('')).toEqual(['CONSTANT-SKY']);
  });

  it('applies each selective logic to the secondary keys', () => {
    expect(chosen('light the lamp')).not.toContain('SEL-ANDANY');
    expect(chosen('fill the lamp with oil')).toContain('SEL-ANDANY');
    expect(chosen('the tower in a storm')).toContain('SEL-NOTALL');
    expect(chosen('the tower in a storm at night')).not.toContain('SEL-NOTALL');
    expect(chosen('open the gate')).toContain('SEL-NOTANY');
    expect(chosen('open the gate, guard')).not.toContain('SEL-NOTANY');
    expect(chosen('a ship with a red hull')).not.toContain('SEL-ANDALL');
    expect(chosen('a ship with a red sail')).toContain('SEL-ANDALL');
  });

  it('honours case sensitivity, whole words and regex keys', () => {
    expect(chosen('a rook on the roof')).not.toContain('CASE-ROOK');
    expect(chosen('Rook on the roof')).toContain('CASE-ROOK');
    expect(chosen('the fishmongers')).toContain('PARTIAL-FISH');
    expect(chosen('a DR@GON overhead')).toContain('REGEX-DRAGON');
    expect(chosen('a dragonfly')).toContain('REGEX-DRAGON'); // the pattern has no word boundary
    expect(keywordMatches('lamp', 'lamplight', { caseSensitive: false, matchWholeWords: true })).toBe(false);
  });

  it('places entries before or after the characters or at their depth, by insertion order', () => {
    const selected = chooseLore(entries, { recentScenes: [], queryText: 'the lamp', seed: 1, scanDepth: 2, tokenBudget: 5000 });
    expect(selected.afterCharacters.map((item) => item.text)).toEqual(['After chars: AFTER-LAMP: the keeper polishes the lamp at dusk.']);
    expect(selected.atDepth.map((item) => [item.text.split(': ')[1], item.depth])).toEqual([
      ['DEPTH-LAMP', 1],
      ['AN-TOP', 2],
    ]);
    expect(selected.beforeCharacters.map((item) => item.text)).toContain("Ignored probability: PROB-OFF: probability 0 but not used.");
  });

  it('rolls probability from the seed: the same turn gives the same answer', () => {
    const half = { ...entries.find((e) => e.title === 'After chars')!, id: 'half', probability: 50 };
    const pick = (seed: number) => chooseLore([half], { recentScenes: [], queryText: 'lamp', seed, scanDepth: 2, tokenBudget: 5000 }).afterCharacters.length;
    const rolls = Array.from({ length: 40 }, (_, seed) => pick(seed));
    expect(rolls).toEqual(Array.from({ length: 40 }, (_, seed) => pick(seed)));
    expect(rolls.filter((n) => n === 1).length).toBeGreaterThan(5);
    expect(rolls.filter((n) => n === 0).length).toBeGreaterThan(5);
    expect(chosen('lamp')).not.toContain('PROB-ZERO');
  });

  it('searches only as many recent scenes as the scan depth says', () => {
    expect(chosen('nothing', { recentScenes: ['The harbour is quiet.'] })).not.toContain('SCAN-ZERO');
    expect(chosen('walk to the harbour')).toContain('SCAN-ZERO');
    expect(chosen('nothing', { recentScenes: ['the lamp and its oil', 'x', 'y'], scanDepth: 2 })).not.toContain('SEL-ANDANY');
    expect(chosen('nothing', { recentScenes: ['the lamp and its oil', 'x'], scanDepth: 2 })).toContain('SEL-ANDANY');
  });

  it('keeps within the lore token budget, constant entries first', () => {
    expect(chosen('lamp oil tower gate', { tokenBudget: 20 })).toEqual(['CONSTANT-SKY']);
  });

  it('matches by meaning only past the threshold, and secondary logic still applies', () => {
    const bell = entries.find((e) => e.title === 'Bell')!;
    expect(chosen('x', { similarities: new Map([[bell.id, 0.8]]) })).toContain('EMPTYKEY-BELL');
    expect(chosen('x', { similarities: new Map([[bell.id, 0.3]]) })).not.toContain('EMPTYKEY-BELL');
    const lampOil = entries.find((e) => e.title === 'Lamp oil')!;
    expect(chosen('x', { similarities: new Map([[lampOil.id, 0.9]]) })).not.toContain('SEL-ANDANY');
  });

  it('runs a catastrophic pattern over a long text without stalling (RE2: linear time)', () => {
    const started = Date.now();
    const text = `${'a'.repeat(200_000)}!`;
    expect(keywordMatches('/(a+)+$/', text, { caseSensitive: false, matchWholeWords: true })).toBe(false);
    expect(keywordMatches('/(x)\\1/', 'xx', { caseSensitive: false, matchWholeWords: true })).toBe(false); // RE2 cannot run it: never matches
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
