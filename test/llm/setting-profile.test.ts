import { describe, expect, it } from 'vitest';
import { readSetting } from '../../src/llm/providers/offline/setting-profile.js';

describe('offline storyteller: the people a setting names', () => {
  it('reads a role the setting coins as a compound ("harbour-master", "camel-drivers", "shopkeeper")', () => {
    expect(readSetting('A river port where the harbour-master takes bribes and the lamp-lighter sees everything.').roles).toEqual(['harbour-master', 'lamp-lighter']);
    expect(readSetting('A desert caravan where camel-drivers and a water-seller quarrel over the last well.').roles).toEqual(['camel-driver', 'water-seller']);
    expect(readSetting('A market town where the shopkeeper and the goldsmith trade gossip with the fishwives.').roles).toEqual(['shopkeeper', 'goldsmith', 'fishwife']);
  });

  it('leaves compounds that name no one as places and things', () => {
    const profile = readSetting('An island where the bell-tower leans over the salt-water and a love-letter lies under the floorboards.');
    expect(profile.roles).toEqual([]);
    expect(profile.places).toContain('the bell-tower');
    // After a compound noun, "leans" and "lies" are what it does, not things to talk about.
    expect(profile.things).toEqual(['the salt-water', 'the floorboards']);
  });
});
