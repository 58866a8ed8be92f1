import { describe, expect, it } from 'vitest';
import { cardBookCodec, exportLoreEntry, worldInfoCodec } from '../../src/io/lore-codecs.js';

/** A card book entry as SillyTavern writes one (convertWorldInfoToCharacterBook): its options under extensions. */
const cardEntry = {
  id: 4,
  keys: ['bell'],
  secondary_keys: [],
  comment: 'Bell',
  content: 'The bell tolls.',
  constant: false,
  selective: true,
  insertion_order: 120,
  enabled: true,
  position: 'after_char',
  use_regex: false,
  extensions: {
    position: 3,
    role: 2,
    depth: 6,
    group: 'bells, sounds',
    group_override: true,
    group_weight: 40,
    use_group_scoring: true,
    sticky: 2,
    cooldown: 3,
    delay: 1,
    exclude_recursion: true,
    prevent_recursion: true,
    delay_until_recursion: 2,
    ignore_budget: true,
    display_index: 4,
    automation_id: 'x',
    outlet_name: '',
    triggers: [],
  },
};

describe('lore codecs', () => {
  it("reads a card book entry's SillyTavern extensions and writes it back unchanged", () => {
    const fields = cardBookCodec.read(cardEntry, 'Entry 4');
    expect(fields).toMatchObject({
      position: 'author_note_bottom',
      depthRole: 'assistant',
      depth: 6,
      inclusionGroup: 'bells, sounds',
      groupOverride: true,
      groupWeight: 40,
      useGroupScoring: true,
      sticky: 2,
      cooldown: 3,
      delay: 1,
      excludeRecursion: true,
      preventRecursion: true,
      delayUntilRecursion: 2,
      ignoreBudget: true,
    });
    expect(exportLoreEntry(cardBookCodec, fields, cardEntry, 'Entry 4', 0)).toEqual(cardEntry);
    const edited = exportLoreEntry(cardBookCodec, { ...fields, sticky: 5, position: 'examples_top', depthRole: 'user' }, cardEntry, 'Entry 4', 0);
    expect(edited).toEqual({ ...cardEntry, position: 'before_char', extensions: { ...cardEntry.extensions, sticky: 5, position: 5, role: 1 } });
  });

  it('reads every World Info position code and older files that say delayUntilRecursion: true', () => {
    const positions = [0, 1, 2, 3, 4, 5, 6].map((position) => worldInfoCodec.read({ key: ['a'], content: 'x', position }, 'e').position);
    expect(positions).toEqual(['before_characters', 'after_characters', 'author_note_top', 'author_note_bottom', 'at_depth', 'examples_top', 'examples_bottom']);
    expect(worldInfoCodec.read({ key: ['a'], content: 'x', delayUntilRecursion: true }, 'e').delayUntilRecursion).toBe(1);
    expect(worldInfoCodec.read({ key: ['a'], content: 'x', sticky: null, role: null }, 'e')).toMatchObject({ sticky: 0, depthRole: 'system' });
  });

  it('creates a complete SillyTavern entry for hand-made lore', () => {
    const fields = worldInfoCodec.read({ key: ['a'], content: 'x' }, 'Hand');
    const created = exportLoreEntry(worldInfoCodec, { ...fields, position: 'author_note_top', inclusionGroup: 'g', sticky: 1 }, undefined, 'Hand', 9);
    expect(created).toMatchObject({ uid: 9, displayIndex: 9, position: 2, group: 'g', sticky: 1, ignoreBudget: false, outletName: '', triggers: [] });
    expect(worldInfoCodec.read(created, 'Hand')).toEqual({ ...fields, position: 'author_note_top', inclusionGroup: 'g', sticky: 1 });
  });
});
