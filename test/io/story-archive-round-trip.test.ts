import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { isAppError } from '../../src/errors.js';
import { exportStoryArchive, importStoryArchive, parseStoryArchive, type StoryArchive } from '../../src/io/index.js';
import { createTestDatabase, type BackendName } from '../helpers/db.js';
import { countRows, insertBranchingStory } from './builders.js';

/**
 * The fields a round trip may change, by contract (story-archive.ts): every id (references
 * are renamed consistently, so ids become positions), exported_at, the story's timestamps.
 */
export function comparableArchive(archive: StoryArchive): unknown {
  const label = (table: string, rows: { id: string }[]) => new Map(rows.map((row, i) => [row.id, `${table}#${i}`]));
  const scenes = label('scene', archive.scenes);
  const characters = label('character', archive.characters);
  const s = (id: string | null) => (id === null ? null : scenes.get(id) ?? `dangling:${id}`);
  const c = (id: string | null) => (id === null ? null : characters.get(id) ?? `dangling:${id}`);
  return {
    ...archive,
    exported_at: undefined,
    story: { ...archive.story, id: undefined, created_at: undefined, updated_at: undefined, head_scene_id: s(archive.story.head_scene_id) },
    scenes: archive.scenes.map((x) => ({ ...x, id: s(x.id), parent_id: s(x.parent_id) })),
    user_instructions: archive.user_instructions.map((x, i) => ({ ...x, id: i, scene_id: s(x.scene_id) })),
    characters: archive.characters.map((x) => ({ ...x, id: c(x.id), first_scene_id: s(x.first_scene_id) })),
    scene_characters: archive.scene_characters.map((x) => ({ ...x, scene_id: s(x.scene_id), character_id: c(x.character_id) })),
    memories: archive.memories.map((x, i) => ({ ...x, id: i, scene_id: s(x.scene_id) })),
    character_memories: archive.character_memories.map((x, i) => ({ ...x, id: i, character_id: c(x.character_id), scene_id: s(x.scene_id) })),
    character_relationships: archive.character_relationships.map((x, i) => ({
      ...x,
      id: i,
      character_id: c(x.character_id),
      target_character_id: c(x.target_character_id),
    })),
    lore_entries: archive.lore_entries.map((x, i) => ({ ...x, id: i })),
  };
}

describe.each<BackendName>(['server', 'embedded'])('story archive round trip on the %s backend', (backend) => {
  let db: Database;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ db, dispose } = await createTestDatabase(backend));
  });
  afterAll(async () => dispose());

  it('exports every table of a branching story and validates against its own schema', async () => {
    const built = await insertBranchingStory(db);
    const archive = await exportStoryArchive(db, built.storyId);
    expect(() => parseStoryArchive(JSON.parse(JSON.stringify(archive)))).not.toThrow();
    expect(archive.format_version).toBe('livingworld/1');
    expect(archive.story).toMatchObject({ title: 'Salt and Lanterns', seed: '9007199254740993', head_scene_id: built.scenes.head, settings: { temperature: 0.8 } });
    expect(archive.scenes).toHaveLength(4);
    expect(archive.scenes.filter((s) => s.parent_id === built.scenes.root).map((s) => s.id)).toEqual([built.scenes.second, built.scenes.regenerated]);
    expect(archive.scenes[0]!.created_at).toBe('2026-01-01T10:01:00.123456Z');
    expect(archive.scenes[0]!.choices[0]).toEqual({ number: 1, content: 'Ask Hanna who "the others" were', selected: true });
    expect(archive.characters.map((c) => c.name)).toEqual(['Hanna Roos', 'Piet Sand']);
    expect(archive.characters[0]).toMatchObject({ mood: 'worried', emotion: { valence: -0.3, arousal: 0.6, dominance: 0.25 }, version: 3 });
    expect(archive.scene_characters).toHaveLength(3);
    expect(archive.memories).toHaveLength(2);
    expect(archive.character_memories).toHaveLength(3);
    expect(archive.character_relationships.map((r) => r.target_character_id)).toEqual([null, built.characters.piet]);
    expect(archive.lore_entries[0]).toMatchObject({ title: 'Vell', keywords: ['Vell', 'harbour'], version: 2 });
    expect(archive.user_instructions).toHaveLength(1);
  });

  it('gives the same archive after export, import and export again, apart from ids and the story timestamps', async () => {
    const built = await insertBranchingStory(db, 'Round trip');
    const first = await exportStoryArchive(db, built.storyId);
    const { storyId } = await importStoryArchive(db, JSON.parse(JSON.stringify(first)));
    expect(storyId).not.toBe(built.storyId);
    const second = await exportStoryArchive(db, storyId);
    expect(comparableArchive(second)).toEqual(comparableArchive(first));
    expect(second.scenes.map((s) => s.created_at)).toEqual(first.scenes.map((s) => s.created_at));
    // And a third generation is stable too.
    const third = await exportStoryArchive(db, (await importStoryArchive(db, second)).storyId);
    expect(comparableArchive(third)).toEqual(comparableArchive(first));
  });

  it('imports under a new title when asked, and refuses an empty one', async () => {
    const built = await insertBranchingStory(db, 'Titled');
    const archive = await exportStoryArchive(db, built.storyId);
    const { storyId } = await importStoryArchive(db, archive, { title: 'Titled (copy)' });
    expect((await exportStoryArchive(db, storyId)).story.title).toBe('Titled (copy)');
    await expect(importStoryArchive(db, archive, { title: '   ' })).rejects.toMatchObject({ code: 'validation' });
  });

  it('reports a missing story as not_found', async () => {
    await expect(exportStoryArchive(db, '00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ code: 'not_found' });
    await expect(exportStoryArchive(db, 'not-a-uuid')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('refuses broken archives with the JSON path of the problem and writes nothing', async () => {
    const built = await insertBranchingStory(db, 'Broken');
    const good = await exportStoryArchive(db, built.storyId);
    const before = await countRows(db);
    const cases: [string, (a: StoryArchive) => void, RegExp][] = [
      ['dangling parent', (a) => (a.scenes[3]!.parent_id = 'nope'), /scenes\[3\]\.parent_id: refers to scene "nope"/],
      ['cycle', (a) => (a.scenes[0]!.parent_id = a.scenes[3]!.id), /forms a cycle in the scene tree/],
      ['scene number', (a) => (a.scenes[3]!.scene_number = 4), /scenes\[3\]\.scene_number: is 4, but its parent/],
      ['dangling head', (a) => (a.story.head_scene_id = 'x'), /story\.head_scene_id: refers to scene "x"/],
      ['duplicate id', (a) => (a.scenes[2]!.id = a.scenes[1]!.id), /scenes\[2\]\.id: duplicates the id/],
      ['dangling character', (a) => (a.scene_characters[0]!.character_id = 'ghost'), /scene_characters\[0\]\.character_id: refers to character "ghost"/],
      ['control character', (a) => (a.scenes[1]!.content = 'bell\u0007'), /scenes\[1\]\.content: contains the control character U\+0007/],
      ['wrong type', (a) => ((a.characters[1] as unknown as Record<string, unknown>)['mood'] = 5), /characters\[1\]\.mood: Invalid input: expected string/],
      ['too long', (a) => (a.scenes[0]!.content = 'x'.repeat(100_001)), /scenes\[0\]\.content: is longer than 100000 characters/],
      ['same person twice', (a) => (a.characters[1]!.name = ' hanna  ROOS.'), /characters\[1\]\.name: is the same person as characters\[0\]/],
      ['no choices', (a) => (a.scenes[2]!.choices = []), /scenes\[2\]\.choices: must have at least one choice/],
      ['missing key', (a) => delete (a.story as Partial<StoryArchive['story']>).setting, /story\.setting/],
      ['self relationship', (a) => (a.character_relationships[1]!.target_character_id = a.character_relationships[1]!.character_id), /is the character itself/],
      ['bad timestamp', (a) => (a.memories[0]!.created_at = '2026-02-30T00:00:00Z'), /memories\[0\]\.created_at: is not an ISO 8601 timestamp/],
      ['choice not in parent', (a) => (a.scenes[3]!.choice_number = 9), /scenes\[3\]\.choice_number: is 9, but the parent scene has no choice/],
    ];
    for (const [name, mutate, message] of cases) {
      const archive = structuredClone(good);
      mutate(archive);
      const error = await importStoryArchive(db, archive).catch((e: unknown) => e);
      expect(isAppError(error, 'validation'), name).toBe(true);
      expect((error as Error).message, name).toMatch(message);
    }
    expect(await countRows(db)).toEqual(before);
  });
});
