import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { isAppError } from '../../src/errors.js';
import { exportStoryArchive, importStoryArchive, parseStoryArchive, type StoryArchive } from '../../src/io/index.js';
import { createJobWorker, backgroundSettingsFor } from '../../src/jobs/index.js';
import { createOfflineProvider } from '../../src/llm/providers/offline.js';
import { insertCharacterMemories, listCharacterReflections } from '../../src/memory/memory-repo.js';
import { createBackgroundJobHandlers } from '../../src/story/background-job-handlers.js';
import { createStory } from '../../src/story/create-story.js';
import { rewindStory } from '../../src/story/rewind-story.js';
import { takeTurn } from '../../src/story/take-turn.js';
import { insertSceneFacts, loadFactsAt } from '../../src/world/index.js';
import { createTestDatabase, type BackendName } from '../helpers/db.js';
import { createTestEngine } from '../helpers/engine.js';
import { countRows, insertBranchingStory } from './builders.js';

/**
 * The fields a round trip may change, by contract (story-archive.ts): every id (references
 * are renamed consistently, so ids become positions), exported_at, the story's timestamps.
 */
export function comparableArchive(archive: StoryArchive): unknown {
  const label = (table: string, rows: { id: string }[]) => new Map(rows.map((row, i) => [row.id, `${table}#${i}`]));
  const scenes = label('scene', archive.scenes);
  const characters = label('character', archive.characters);
  const characterMemories = label('character_memory', archive.character_memories);
  const s = (id: string | null) => (id === null ? null : scenes.get(id) ?? `dangling:${id}`);
  const c = (id: string | null) => (id === null ? null : characters.get(id) ?? `dangling:${id}`);
  const cm = (id: string) => characterMemories.get(id) ?? `dangling:${id}`;
  return {
    ...archive,
    exported_at: undefined,
    story: { ...archive.story, id: undefined, created_at: undefined, updated_at: undefined, head_scene_id: s(archive.story.head_scene_id) },
    scenes: archive.scenes.map((x) => ({ ...x, id: s(x.id), parent_id: s(x.parent_id) })),
    user_instructions: archive.user_instructions.map((x, i) => ({ ...x, id: i, scene_id: s(x.scene_id) })),
    characters: archive.characters.map((x) => ({ ...x, id: c(x.id), first_scene_id: s(x.first_scene_id) })),
    scene_characters: archive.scene_characters.map((x) => ({ ...x, scene_id: s(x.scene_id), character_id: c(x.character_id) })),
    memories: archive.memories.map((x, i) => ({ ...x, id: i, scene_id: s(x.scene_id) })),
    character_memories: archive.character_memories.map((x, i) => ({
      ...x,
      id: i,
      character_id: c(x.character_id),
      scene_id: s(x.scene_id),
      ...(x.evidence_memory_ids ? { evidence_memory_ids: x.evidence_memory_ids.map(cm) } : {}),
    })),
    character_relationships: archive.character_relationships.map((x, i) => ({
      ...x,
      id: i,
      character_id: c(x.character_id),
      target_character_id: c(x.target_character_id),
    })),
    lore_entries: archive.lore_entries.map((x, i) => ({ ...x, id: i })),
    ...(archive.story_facts ? { story_facts: archive.story_facts.map((x) => ({ ...x, scene_id: s(x.scene_id) })) } : {}),
  };
}

/**
 * A story told by the offline storyteller (which reports the place of each scene, and what is
 * taken, as facts), with a branch, model summaries at their scenes and reflections citing memories.
 */
async function tellStoryWithFactsAndReflections(db: Database, title: string) {
  const provider = createOfflineProvider({ seed: 3 });
  const deps = { ...createTestEngine(db, provider), background: backgroundSettingsFor(provider, { summaries: 'model', summaryEveryScenes: 2, reflectionThreshold: 1 }) };
  const worker = createJobWorker({ db, log: deps.log, owner: deps.instanceId, handlers: createBackgroundJobHandlers(deps), skipStoriesGenerating: false });
  const { story, opening } = await createStory(deps, { title, setting: 'A salt marsh village with a ferry and a chapel' });
  for (let i = 0; i < 6; i++) await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 1 });
  await rewindStory(deps, story.id, { toSceneId: opening.scene.id });
  await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 2 });
  await worker.drain();
  const { rows } = await db.query<{ head_scene_id: string }>('SELECT head_scene_id FROM stories WHERE id = $1', [story.id]);
  return { storyId: story.id, head: rows[0]!.head_scene_id };
}

type BrokenCase = [name: string, mutate: (archive: StoryArchive) => void, message: RegExp];

/** Each mutated copy of `good` is refused as validation with its message, and nothing is written. */
async function expectEachRefused(db: Database, good: StoryArchive, cases: BrokenCase[]): Promise<void> {
  const before = await countRows(db);
  for (const [name, mutate, message] of cases) {
    const archive = structuredClone(good);
    mutate(archive);
    const error = await importStoryArchive(db, archive).catch((e: unknown) => e);
    expect(isAppError(error, 'validation'), name).toBe(true);
    expect((error as Error).message, name).toMatch(message);
  }
  expect(await countRows(db)).toEqual(before);
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
    const cases: BrokenCase[] = [
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
    await expectEachRefused(db, good, cases);
  });

  it('carries story facts, summaries at their scenes and reflections with their evidence through export, import and export again', async () => {
    const told = await tellStoryWithFactsAndReflections(db, 'Facts');
    const first = await exportStoryArchive(db, told.storyId);
    expect(() => parseStoryArchive(JSON.parse(JSON.stringify(first)))).not.toThrow();
    const facts = first.story_facts ?? [];
    expect(new Set(facts.map((f) => f.fact_type))).toContain('place');
    // Facts of both branches: the one left and the one the head is on.
    expect(new Set(facts.map((f) => f.scene_id)).size).toBe(first.scenes.length);
    const summaries = first.memories.filter((m) => m.kind === 'summary');
    expect(summaries.length).toBeGreaterThan(0);
    for (const summary of summaries) expect(summary.scene_id).not.toBeNull();
    const reflections = first.character_memories.filter((m) => m.kind === 'reflection');
    expect(reflections.length).toBeGreaterThan(0);
    for (const reflection of reflections) expect(reflection.evidence_memory_ids?.length).toBeGreaterThan(0);

    const { storyId } = await importStoryArchive(db, JSON.parse(JSON.stringify(first)));
    const second = await exportStoryArchive(db, storyId);
    expect(comparableArchive(second)).toEqual(comparableArchive(first));
    // Comparable maps ids to positions, so this says each fact, summary and evidence id names
    // the same row as before; and the imported story reads them back as the original does.
    const { rows } = await db.query<{ head_scene_id: string }>('SELECT head_scene_id FROM stories WHERE id = $1', [storyId]);
    const head = rows[0]!.head_scene_id;
    expect(await loadFactsAt(db, storyId, head)).toEqual(await loadFactsAt(db, told.storyId, told.head));
    const reflecting = first.characters.findIndex((c) => c.id === reflections[0]!.character_id);
    const readReflections = async (story: string, archive: StoryArchive, at: string) =>
      // Sorted: reflections written in one job share their timestamp, and are listed apart only by id.
      (await listCharacterReflections(db, { storyId: story, characterId: archive.characters[reflecting]!.id, atSceneId: at }))
        .map((r) => ({ content: r.content, evidence: r.evidence.map((e) => e.content).sort() }))
        .sort((a, b) => a.content.localeCompare(b.content));
    const original = await readReflections(told.storyId, first, told.head);
    expect(original.length).toBeGreaterThan(0);
    expect(original.flatMap((r) => r.evidence).length).toBeGreaterThan(0);
    expect(await readReflections(storyId, second, head)).toEqual(original);

    const third = await exportStoryArchive(db, (await importStoryArchive(db, second)).storyId);
    expect(comparableArchive(third)).toEqual(comparableArchive(first));
  });

  it('keeps evidence in the order cited and leaves out memories no longer kept', async () => {
    const built = await insertBranchingStory(db, 'Evidence');
    const { rows: cited } = await db.query<{ id: string }>(
      `SELECT id FROM character_memories WHERE story_id = $1 AND character_id = $2 AND kind <> 'reflection' ORDER BY created_at`,
      [built.storyId, built.characters.hanna],
    );
    const gone = '00000000-0000-4000-8000-00000000dead';
    await insertCharacterMemories(db, [
      {
        storyId: built.storyId,
        characterId: built.characters.piet,
        sceneId: built.scenes.head,
        kind: 'reflection',
        content: 'Hanna watches strangers closely.',
        emotionalValence: 0,
        importance: 0.7,
        embedding: null,
        evidenceMemoryIds: [gone, cited[0]!.id],
      },
    ]);
    await insertSceneFacts(db, built.storyId, built.scenes.second, [
      { op: 'add', type: 'possession', subject: 'the brass lantern', text: 'You carry the brass lantern.' },
      { op: 'resolve', type: 'question', subject: 'the others', text: 'the others' },
    ]);
    const first = await exportStoryArchive(db, built.storyId);
    const reflection = first.character_memories.find((m) => m.content === 'Hanna watches strangers closely.')!;
    expect(reflection.evidence_memory_ids).toEqual([cited[0]!.id]);
    expect(first.story_facts?.map((f) => [f.scene_id, f.seq, f.op, f.fact_key])).toEqual([
      [built.scenes.second, 0, 'add', 'possession:brass lantern'],
      [built.scenes.second, 1, 'resolve', 'question:others'],
    ]);
    const second = await exportStoryArchive(db, (await importStoryArchive(db, first)).storyId);
    expect(comparableArchive(second)).toEqual(comparableArchive(first));
  });

  it('imports an archive from before facts and evidence, without them', async () => {
    const told = await tellStoryWithFactsAndReflections(db, 'Older');
    const archive = await exportStoryArchive(db, told.storyId);
    delete archive.story_facts;
    for (const memory of archive.character_memories) delete memory.evidence_memory_ids;
    const { storyId } = await importStoryArchive(db, archive);
    const again = await exportStoryArchive(db, storyId);
    expect(again.story_facts).toEqual([]);
    expect(again.character_memories.every((m) => m.evidence_memory_ids?.length === 0)).toBe(true);
    expect(again.character_memories).toHaveLength(archive.character_memories.length);
  });

  it('refuses broken facts, evidence and summaries with the JSON path of the problem and writes nothing', async () => {
    const told = await tellStoryWithFactsAndReflections(db, 'Broken facts');
    const good = await exportStoryArchive(db, told.storyId);
    const reflection = good.character_memories.findIndex((m) => (m.evidence_memory_ids ?? []).length > 0);
    const summaries = good.memories.flatMap((m, i) => (m.kind === 'summary' && m.scene_id !== null ? [i] : []));
    expect(reflection).toBeGreaterThanOrEqual(0);
    expect(good.story_facts!.length).toBeGreaterThan(1);
    const cases: BrokenCase[] = [
      ['fact of a missing scene', (a) => (a.story_facts![1]!.scene_id = 'nowhere'), /story_facts\[1\]\.scene_id: refers to scene "nowhere", which is not in the file/],
      [
        'evidence not in the file',
        (a) => (a.character_memories[reflection]!.evidence_memory_ids = ['ghost']),
        new RegExp(`character_memories\\[${reflection}\\]\\.evidence_memory_ids\\[0\\]: refers to character memory "ghost"`),
      ],
      [
        'repeated fact seq',
        (a) => a.story_facts!.push({ ...a.story_facts![0]! }),
        new RegExp(`story_facts\\[${good.story_facts!.length}\\]\\.seq: repeats seq ${good.story_facts![0]!.seq} of scene`),
      ],
      ['unknown fact type', (a) => ((a.story_facts![0] as Record<string, unknown>)['fact_type'] = 'rumour'), /story_facts\[0\]\.fact_type/],
      ['empty fact', (a) => (a.story_facts![0]!.content = ''), /story_facts\[0\]\.content/],
      [
        'two summaries of one scene',
        (a) => a.memories.push({ ...a.memories[summaries[0]!]!, id: 'copy', content: 'Another summary.' }),
        new RegExp(`memories\\[${good.memories.length}\\]\\.scene_id: repeats the summary of scene "[^"]+" \\(memories\\[${summaries[0]}\\]\\)`),
      ],
    ];
    await expectEachRefused(db, good, cases);
  });
});
