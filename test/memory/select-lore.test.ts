import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chooseLore, type LoreScan } from '../../src/memory/select-lore.js';
import type { LoreEntry } from '../../src/memory/lore-repo.js';
import { worldInfoCodec } from '../../src/io/lore-codecs.js';
import { keywordMatches } from '../../src/memory/lore-keys.js';
import { timedLoreAt } from '../../src/memory/timed-lore.js';

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
  return placedMarkers(selected);
}

/** The marker word (e.g. "CONSTANT-SKY") of every placed entry, whatever its position. */
function placedMarkers(selected: ReturnType<typeof chooseLore>): string[] {
  return [
    ...selected.beforeCharacters,
    ...selected.afterCharacters,
    ...selected.authorNoteTop,
    ...selected.authorNoteBottom,
    ...selected.atDepth,
    ...selected.examplesTop,
    ...selected.examplesBottom,
  ].map((item) => item.text.split(': ')[1]!.split(':')[0]!);
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
    expect(chosen('Rook on the roof')).toContain('CASE-ROOK'); // selective is off: its secondary "wing" is not needed
    expect(chosen('the fishmongers')).toContain('PARTIAL-FISH');
    expect(chosen('a DR@GON overhead')).toContain('REGEX-DRAGON');
    expect(chosen('a dragonfly')).toContain('REGEX-DRAGON'); // the pattern has no word boundary
    expect(keywordMatches('lamp', 'lamplight', { caseSensitive: false, matchWholeWords: true })).toBe(false);
  });

  it('places each SillyTavern position apart, at-depth entries with their role, by insertion order', () => {
    const selected = chooseLore(entries, { recentScenes: [], queryText: 'the lamp and the beacon', seed: 1, scanDepth: 2, tokenBudget: 5000 });
    const markers = (items: { text: string }[]) => items.map((item) => item.text.split(': ')[1]);
    expect(selected.afterCharacters.map((item) => item.text)).toEqual(['After chars: AFTER-LAMP: the keeper polishes the lamp at dusk.']);
    expect(selected.atDepth.map((item) => [item.text.split(': ')[1], item.depth, item.role])).toEqual([
      ['DEPTH-LAMP', 1, 'system'],
      ['DEPTH-USER', 0, 'user'],
      ['DEPTH-ASSIST', 0, 'assistant'],
    ]);
    expect(markers(selected.authorNoteTop)).toEqual(['AN-TOP']);
    expect(markers(selected.authorNoteBottom)).toEqual(['AN-BOTTOM']);
    expect(markers(selected.examplesTop)).toEqual(['EM-TOP']);
    expect(markers(selected.examplesBottom)).toEqual(['EM-BOTTOM']);
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

describe('inclusion groups', () => {
  it('keeps one entry of a group: group scoring picks the one matching most keys', () => {
    const both = chosen('sing me a song');
    expect(both.filter((m) => m.startsWith('GROUP-'))).toHaveLength(1);
    expect(chosen('sing me a song about Ghosts').filter((m) => m.startsWith('GROUP-'))).toEqual(['GROUP-GHOST']);
    expect(chosen('sing me a song about the Black Cat').filter((m) => m.startsWith('GROUP-'))).toEqual(['GROUP-CAT']);
  });

  it('lets the highest-order prioritised entry win over weights', () => {
    expect(chosen('rain again').filter((m) => ['PRIO-LOW', 'PRIO-HIGH', 'WEIGHT-HEAVY'].includes(m))).toEqual(['PRIO-HIGH']);
  });

  it('draws by group weight, the same for the same turn', () => {
    const member = (id: string, weight: number): LoreEntry => ({ ...entries.find((e) => e.title === 'Rain heavy weight')!, id, groupWeight: weight, content: id });
    const group = [member('heavy', 900), member('light', 100)];
    const winners = Array.from({ length: 60 }, (_, seed) => chooseLore(group, { recentScenes: [], queryText: 'rain', seed, scanDepth: 2, tokenBudget: 5000 }).beforeCharacters.map((i) => i.id));
    expect(winners.every((w) => w.length === 1)).toBe(true);
    const heavy = winners.filter(([w]) => w === 'heavy').length;
    expect(heavy).toBeGreaterThan(40);
    expect(heavy).toBeLessThan(60);
    expect(winners).toEqual(Array.from({ length: 60 }, (_, seed) => chooseLore(group, { recentScenes: [], queryText: 'rain', seed, scanDepth: 2, tokenBudget: 5000 }).beforeCharacters.map((i) => i.id)));
  });

  it('lets a sticky entry hold its group', () => {
    const low = entries.find((e) => e.title === 'Rain low')!;
    const picked = chosen('rain', { timed: { sticky: new Set([low.id]), cooldown: new Set() } });
    expect(picked.filter((m) => ['PRIO-LOW', 'PRIO-HIGH', 'WEIGHT-HEAVY'].includes(m))).toEqual(['PRIO-LOW']);
  });
});

describe('recursion', () => {
  it("scans activated entries' content for further keys, honouring exclude, prevent and delay", () => {
    const picked = chosen('I meet Bessie');
    expect(picked).toContain('RECURSE-BESSIE');
    expect(picked).toContain('RECURSE-RUFUS'); // Bessie's content names Rufus
    expect(picked).toContain('PREVENT-RUFUS'); // activated by recursion itself…
    expect(picked).not.toContain('OTTER-NEVER'); // …but its content activates nothing
    expect(picked).not.toContain('EXCLUDED-MILL'); // Rufus's content names the mill; the mill is not recursable
    expect(picked).toContain('DELAYREC-COW'); // Bessie's content names the cow
    expect(chosen('the mill by the river')).toContain('EXCLUDED-MILL'); // directly it activates
  });

  it('stops at the maximum number of passes, or scans once when recursion is off', () => {
    expect(chosen('I meet Bessie', { maxRecursionSteps: 1 })).not.toContain('RECURSE-RUFUS');
    expect(chosen('I meet Bessie', { maxRecursionSteps: 2 })).toContain('RECURSE-RUFUS');
    const once = chosen('I meet Bessie', { recursive: false });
    expect(once).not.toContain('RECURSE-RUFUS');
    expect(once).not.toContain('DELAYREC-COW'); // only recursion activates it
    expect(chosen('a cow and nothing else')).toContain('DELAYREC-COW'); // its level's pass scans the scenes too
  });

  it('admits higher recursion levels only once a pass finds nothing new', () => {
    const cow = entries.find((e) => e.title === 'Cow')!;
    const chain = [
      { ...cow, id: 'start', keywords: ['start'], delayUntilRecursion: 0, content: 'start: mentions one and two' },
      { ...cow, id: 'one', keywords: ['one'], delayUntilRecursion: 1, content: 'one: level one' },
      { ...cow, id: 'two', keywords: ['two'], delayUntilRecursion: 2, content: 'two: level two, mentions three' },
      { ...cow, id: 'three', keywords: ['three'], delayUntilRecursion: 0, content: 'three' },
    ];
    const selected = chooseLore(chain, { recentScenes: [], queryText: 'start', seed: 1, scanDepth: 2, tokenBudget: 5000, maxRecursionSteps: 2 });
    expect(selected.activatedIds).toEqual(['start', 'one']); // level 1 in the first recursion pass; level 2 not yet
    expect(chooseLore(chain, { recentScenes: [], queryText: 'start', seed: 1, scanDepth: 2, tokenBudget: 5000 }).activatedIds).toEqual(['start', 'one', 'two', 'three']);
  });

  it('keeps a delayed entry out of the first pass: a group placed there admits it no more', () => {
    const cow = entries.find((e) => e.title === 'Cow')!;
    const herd = [
      { ...cow, id: 'delayed', inclusionGroup: 'herd', groupOverride: true, insertionOrder: 500 },
      { ...cow, id: 'plain', inclusionGroup: 'herd', delayUntilRecursion: 0, content: 'PLAIN-COW: x.' },
    ];
    const ids = (list: LoreEntry[]) => chooseLore(list, { recentScenes: [], queryText: 'a cow', seed: 1, scanDepth: 2, tokenBudget: 5000 }).activatedIds;
    expect(ids(herd)).toEqual(['plain']);
    expect(ids(herd.map((e) => ({ ...e, delayUntilRecursion: 0 })))).toEqual(['delayed']);
  });
});

describe('budget and timed effects', () => {
  it('places an entry that ignores the budget even when the budget is spent', () => {
    expect(chosen('anchor and lamp oil tower gate', { tokenBudget: 20 })).toEqual(expect.arrayContaining(['CONSTANT-SKY', 'IGNORE-BUDGET']));
  });

  it('holds a sticky entry whatever its keys, keeps a cooling one out, and waits out a delay', () => {
    const comet = entries.find((e) => e.title === 'Comet')!;
    expect(chosen('nothing', { timed: { sticky: new Set([comet.id]), cooldown: new Set() } })).toContain('STICKY-COMET');
    expect(chosen('the comet', { timed: { sticky: new Set(), cooldown: new Set([comet.id]) } })).not.toContain('STICKY-COMET');
    expect(chosen('the comet', { scenesSoFar: 2 })).not.toContain('DELAY-COMET');
    expect(chosen('the comet', { scenesSoFar: 3 })).toContain('DELAY-COMET');
  });

  it('counts sticky then cooldown in scenes after a fresh activation (the SillyTavern example)', () => {
    const entry = { id: 'e', sticky: 3, cooldown: 2 };
    const stateAt = (scene: number, activatedIn: number[]) =>
      timedLoreAt([entry], activatedIn.map((n) => ({ sceneNumber: n, loreEntryIds: ['e'] })), scene);
    // Activated for scene 1 and carried by sticky through scenes 2 to 4.
    const path = [1, 2, 3, 4];
    const states = [2, 3, 4, 5, 6, 7].map((scene) => {
      const state = stateAt(scene, path.filter((n) => n < scene));
      return state.sticky.has('e') ? 'sticky' : state.cooldown.has('e') ? 'cooldown' : 'free';
    });
    expect(states).toEqual(['sticky', 'sticky', 'sticky', 'cooldown', 'cooldown', 'free']);
    // Cooldown alone starts right after the activation.
    const cooling = timedLoreAt([{ id: 'c', sticky: 0, cooldown: 1 }], [{ sceneNumber: 4, loreEntryIds: ['c'] }], 5);
    expect(cooling.cooldown.has('c')).toBe(true);
    expect(timedLoreAt([{ id: 'c', sticky: 0, cooldown: 1 }], [{ sceneNumber: 4, loreEntryIds: ['c'] }], 6).cooldown.size).toBe(0);
  });
});
