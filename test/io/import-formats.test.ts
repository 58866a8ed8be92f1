import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import {
  exportStoryArchive,
  exportStoryFile,
  exportStoryMarkdown,
  importStoryFile,
  parsePythonExport,
  parseStoryMarkdown,
  renderStoryMarkdown,
  headPath,
} from '../../src/io/index.js';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { countRows, insertBranchingStory } from './builders.js';

const fixtures = path.resolve('test/fixtures/io');
const pythonSample = fs.readFileSync(path.join(fixtures, 'livingworld-py-export-1.0.json'), 'utf8');

describe('importing other story formats', () => {
  let server: TestServerDatabase;
  let db: Database;
  beforeAll(async () => {
    server = await createServerTestDatabase({ poolSize: 4 });
    db = server.db;
  });
  afterAll(async () => server.drop());

  it('imports the Python 1.0 sample as a linear story with its characters', async () => {
    const { storyId, format } = await importStoryFile(db, pythonSample, 'salt.json');
    expect(format).toBe('livingworld-python/1.0');
    const archive = await exportStoryArchive(db, storyId);
    expect(archive.story.title).toBe('Salt and Lanterns');
    expect(archive.story.setting).toMatch(/^Fog rolls in over the breakwater/);
    expect(archive.scenes.map((s) => s.scene_number)).toEqual([1, 2]);
    expect(archive.scenes[1]!.parent_id).toBe(archive.scenes[0]!.id);
    expect(archive.story.head_scene_id).toBe(archive.scenes[1]!.id);
    expect(archive.scenes[0]!.raw_output).toMatch(/1\. Ask Hanna who "the others" were/);
    expect(archive.scenes[0]!.created_at).toBe('2025-12-30T18:02:40.118220Z');
    // The export does not say which choice was taken.
    expect(archive.scenes.flatMap((s) => s.choices).every((c) => !c.selected)).toBe(true);
    expect(archive.scenes[1]!.choice_number).toBeNull();
    expect(archive.scenes[1]!.choices.map((c) => c.content)).toEqual([
      'Offer to search for Piet at first light',
      'Ask the boy what he knows',
      'Ask Hanna why she is waiting on the quay at night',
    ]);
    expect(archive.characters.map((c) => [c.name, c.description, c.personality, c.goals, c.background])).toEqual([
      ['Hanna Roos', 'Harbourmaster of Vell, wears an oilskin coat, carries a lantern', 'Brusque, watchful, protective of the village', 'Find out what happened to the missing boats', ''],
      ['Piet Sand', 'An old fisherman who went looking for the missing boats', '', '', ''],
    ]);
    const hanna = archive.characters[0]!.id;
    const piet = archive.characters[1]!.id;
    expect(archive.scene_characters).toEqual([
      { scene_id: archive.scenes[0]!.id, character_id: hanna, role: 'mentioned', importance: 0.5 },
      { scene_id: archive.scenes[1]!.id, character_id: hanna, role: 'mentioned', importance: 0.5 },
      { scene_id: archive.scenes[1]!.id, character_id: piet, role: 'mentioned', importance: 0.5 },
    ]);
    expect(archive.characters[1]!.first_scene_id).toBe(archive.scenes[1]!.id);
  });

  it('keeps 0..1 importances as they are and scales 1–10 ones', () => {
    const sample = JSON.parse(pythonSample);
    sample.scenes[0].characters[0].importance = 8;
    expect(parsePythonExport(sample).archive.scene_characters[0]!.importance).toBeCloseTo(0.8);
    for (const scene of sample.scenes) for (const c of scene.characters) c.importance = 0.25;
    expect(parsePythonExport(sample).archive.scene_characters[0]!.importance).toBe(0.25);
  });

  it('imports the Python original’s Markdown as a linear story without marks', async () => {
    const markdown = fs.readFileSync(path.join(fixtures, 'livingworld-py-export.md'), 'utf8');
    const { storyId, format } = await importStoryFile(db, Buffer.from(markdown), 'salt.md');
    expect(format).toBe('markdown');
    const archive = await exportStoryArchive(db, storyId);
    expect(archive.story.title).toBe('Salt and Lanterns');
    expect(archive.scenes).toHaveLength(2);
    expect(archive.scenes[1]!.content).toBe(
      'Hanna lowers the lantern. "Three boats. The Gull, the Marta, and old Piet\'s skiff."\n\nBehind her, a boy mending nets stops to listen; she waves him off. "Piet Sand went out to fetch them on Tuesday. Nobody\'s heard from him since."',
    );
    expect(archive.scenes[0]!.choices).toHaveLength(3);
    expect(archive.scenes.flatMap((s) => s.choices).some((c) => c.selected)).toBe(false);
  });

  it('gives the same head-path prose and choices after a Markdown export and import', async () => {
    const built = await insertBranchingStory(db, 'Markdown trip');
    const original = await exportStoryArchive(db, built.storyId);
    const markdown = await exportStoryMarkdown(db, built.storyId);
    // The fixture's scenes are the offline storyteller's, and each heading says so.
    expect(markdown).toMatch(/^# Markdown trip\n\n\*Exported on .+\*\n\n---\n\n## Scene 1 · offline storyteller\n/);
    expect(markdown.match(/^## Scene \d+ · offline storyteller$/gm)).toHaveLength(headPath(original).length);
    expect(markdown).toContain('1. **Ask Hanna who "the others" were** ← chosen *(ask her name)*');
    expect(markdown).toContain('2. **Ask the boy what he knows** ← chosen');
    expect(markdown).not.toContain('Hanna says nothing'); // the regenerated sibling is off the head path

    const { storyId } = await importStoryFile(db, markdown, 'trip.md');
    const imported = await exportStoryArchive(db, storyId);
    const summary = (archive: typeof original) =>
      headPath(archive).map((scene) => ({
        number: scene.scene_number,
        content: scene.content,
        choiceNumber: scene.choice_number,
        instruction: scene.instruction,
        choices: scene.choices,
      }));
    expect(summary(imported)).toEqual(summary(original));
    expect(headPath(imported).every((scene) => scene.provider === 'offline')).toBe(true);
    expect(renderStoryMarkdown({ ...imported, exported_at: original.exported_at, story: { ...imported.story, title: original.story.title } })).toBe(markdown);
  });

  it('reads back prose that looks like Markdown structure', () => {
    const tricky = '# Not a title\n---\n**Choices:**\n\\backslash\n## Scene 9';
    const built = parseStoryMarkdown(`# T\n\n## Scene 1\n\nplain\n\n**Choices:**\n1. go\n\n---\n`);
    built.scenes[0]!.content = tricky;
    const again = parseStoryMarkdown(renderStoryMarkdown(built));
    expect(again.scenes[0]!.content).toBe(tricky);
    expect(again.scenes).toHaveLength(1);
  });

  it('exports each format as a named file that the JSON import reads back', async () => {
    const built = await insertBranchingStory(db, 'Files: a/b');
    const json = await exportStoryFile(db, built.storyId, 'json');
    expect(json).toMatchObject({ filename: 'files-a-b.json', mediaType: 'application/json' });
    const { storyId, format } = await importStoryFile(db, json.content, json.filename);
    expect(format).toBe('livingworld/1');
    expect((await exportStoryArchive(db, storyId)).scenes).toHaveLength(4);
    expect((await exportStoryFile(db, built.storyId, 'twee')).content).toMatch(/^:: StoryTitle\nFiles: a\/b\n/);
    expect((await exportStoryFile(db, built.storyId, 'md')).filename).toBe('files-a-b.md');
    await expect(exportStoryFile(db, built.storyId, 'pdf')).rejects.toMatchObject({ code: 'validation' });
  });

  it('gives the imported story the owner it is asked to', async () => {
    const localUser = '00000000-0000-0000-0000-000000000001';
    const { storyId } = await importStoryFile(db, pythonSample, 'salt.json', { ownerId: localUser, title: 'Mine' });
    const { rows } = await db.query<{ owner_id: string; title: string }>('SELECT owner_id, title FROM stories WHERE id = $1', [storyId]);
    expect(rows[0]).toEqual({ owner_id: localUser, title: 'Mine' });
  });

  it('points a character card to the card import and refuses unknown JSON without writing', async () => {
    const before = await countRows(db);
    const card = JSON.stringify({ spec: 'chara_card_v2', spec_version: '2.0', data: { name: 'Ada' } });
    await expect(importStoryFile(db, card, 'ada.json')).rejects.toMatchObject({ code: 'validation', message: expect.stringMatching(/character card/) });
    await expect(importStoryFile(db, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]))).rejects.toMatchObject({
      message: expect.stringMatching(/character card/),
    });
    await expect(importStoryFile(db, '{"format_version": "9"}')).rejects.toMatchObject({ code: 'validation', message: expect.stringMatching(/Unknown format_version/) });
    await expect(importStoryFile(db, '{"format_version": "livingworld/1",')).rejects.toMatchObject({ code: 'validation', message: expect.stringMatching(/not valid JSON/) });
    await expect(importStoryFile(db, 'just some words')).rejects.toMatchObject({ code: 'validation', message: expect.stringMatching(/## Scene/) });
    expect(await countRows(db)).toEqual(before);
  });
});
