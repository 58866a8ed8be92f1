import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { isAppError } from '../../src/errors.js';
import { exportStoryArchive, formatJsonPath, importStoryFile, parseStoryArchive } from '../../src/io/index.js';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { countRows } from './builders.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = (string | number)[];

const sample = JSON.parse(fs.readFileSync(path.resolve('test/fixtures/io/livingworld-py-export-1.0.json'), 'utf8')) as Json;

function allPaths(value: Json, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (Array.isArray(value)) value.forEach((child, i) => allPaths(child, [...at, i], out));
  else if (value !== null && typeof value === 'object') for (const [key, child] of Object.entries(value)) allPaths(child, [...at, key], out);
  return out;
}
const getAt = (root: Json, at: Path): Json => at.reduce<Json>((node, key) => (node as Record<string | number, Json>)[key]!, root);
function setAt(root: Json, at: Path, value: Json | undefined): void {
  const parent = getAt(root, at.slice(0, -1)) as Record<string | number, Json>;
  const key = at.at(-1)!;
  if (value !== undefined) parent[key] = value;
  else if (Array.isArray(parent)) parent.splice(key as number, 1);
  else delete parent[key];
}

/** The fields the importer reads as text: a control character or an over-long value there must be listed as repaired. */
const textFields = new Set(['title', 'system_prompt', 'content', 'raw_response', 'name', 'description', 'personality', 'goals', 'background']);
const limits: Record<string, number> = { title: 200, system_prompt: 20_000, content: 100_000, raw_response: 100_000, name: 100, description: 4000, personality: 4000, goals: 4000, background: 8000 };

const kinds = ['delete', 'retype', 'control', 'huge', 'empty-scene', 'case-twin', 'out-of-range', 'truncate', 'none'] as const;
const replacements: Json[] = [null, 0, -1, 1.5, '', 'x', true, [], {}, [1, 2], { a: 1 }];
const controls = ['\u0000', '\u0001', '\u0007', '\u001b', '\u007f', '\ud800'];

/** The test's own reading of "a story": the objects and arrays a Python export is made of. */
function structurallySound(text: string): boolean {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return false;
  }
  const object = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!object(value)) return false;
  const root = value as Record<string, unknown>;
  if (root['format_version'] !== '1.0' || !object(root['story']) || !Array.isArray(root['scenes'])) return false;
  if (!(root['scenes'] as unknown[]).every(object)) return false;
  const characters = root['characters'];
  return characters === undefined || characters === null || (Array.isArray(characters) && characters.every(object));
}

function mutate(kind: (typeof kinds)[number], pick: number, valuePick: number): { text: string; changed?: Path } {
  const file = structuredClone(sample) as Record<string, Json>;
  const paths = allPaths(file).slice(1);
  const strings = paths.filter((p) => typeof getAt(file, p) === 'string');
  switch (kind) {
    case 'delete':
      setAt(file, paths[pick % paths.length]!, undefined);
      break;
    case 'retype':
      setAt(file, paths[pick % paths.length]!, replacements[valuePick % replacements.length]!);
      break;
    case 'control': {
      const at = strings[pick % strings.length]!;
      const text = getAt(file, at) as string;
      const offset = valuePick % (text.length + 1);
      setAt(file, at, text.slice(0, offset) + controls[valuePick % controls.length] + text.slice(offset));
      return { text: JSON.stringify(file), changed: at };
    }
    case 'huge': {
      const at = strings[pick % strings.length]!;
      setAt(file, at, 'ȹ'.repeat((limits[String(at.at(-1))] ?? 1000) + 1 + (valuePick % 3)));
      return { text: JSON.stringify(file), changed: at };
    }
    case 'empty-scene': {
      const scenes = file['scenes'] as Record<string, Json>[];
      const index = pick % scenes.length;
      scenes[index]!['content'] = ['', '   ', null][valuePick % 3]!;
      if (valuePick % 2 === 0) delete scenes[index]!['raw_response'];
      return { text: JSON.stringify(file), changed: ['scenes', index, 'content'] };
    }
    case 'case-twin': {
      const characters = file['characters'] as Record<string, Json>[];
      const original = characters[pick % characters.length]!;
      characters.push({ id: 99, name: (original['name'] as string).toUpperCase(), description: 'A second description', personality: null, goals: 'Another goal', background: 'Born at sea', metadata: {} });
      return { text: JSON.stringify(file), changed: ['characters', characters.length - 1] };
    }
    case 'out-of-range': {
      const numbers = paths.filter((p) => typeof getAt(file, p) === 'number');
      setAt(file, numbers[pick % numbers.length]!, [-2, 10, 1e9, -0.5, 2 ** 31, 1e308][valuePick % 6]!);
      break;
    }
    case 'truncate': {
      const text = JSON.stringify(file);
      return { text: text.slice(0, pick % text.length) };
    }
    case 'none':
      break;
  }
  return { text: JSON.stringify(file) };
}

describe('importing mutated Python-original exports', () => {
  let server: TestServerDatabase;
  let db: Database;
  beforeAll(async () => {
    server = await createServerTestDatabase({ poolSize: 4 });
    db = server.db;
  });
  afterAll(async () => server.drop());

  it('imports every structurally sound one of 200 with its repairs listed, and refuses the rest naming a path in the file, writing nothing', async () => {
    const outcomes: Record<string, number> = {};
    let counts = await countRows(db);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...kinds), fc.nat(), fc.nat(), async (kind, pick, valuePick) => {
        const { text, changed } = mutate(kind, pick, valuePick);
        const sound = structurallySound(text);
        let result;
        try {
          result = await importStoryFile(db, text, 'python.json');
        } catch (error) {
          if (!isAppError(error, 'validation')) throw new Error(`${kind}: not a validation error: ${String(error)}`, { cause: error });
          expect(sound, `${kind}: a sound file was refused: ${(error as Error).message}`).toBe(false);
          // The refusal names where the problem is, in the file's own terms.
          expect((error as Error).message).toMatch(/Invalid LivingWorld \(Python\) export: (\(root\)|story|scenes(\[\d+\])?|characters(\[\d+\])?):|not valid JSON|format_version|not an object/);
          expect(await countRows(db)).toEqual(counts);
          outcomes[`${kind}: refused`] = (outcomes[`${kind}: refused`] ?? 0) + 1;
          return;
        }
        expect(sound, `${kind}: an unsound file was imported`).toBe(true);
        const file = JSON.parse(text) as { scenes: unknown[] };
        const archive = await exportStoryArchive(db, result.storyId);
        expect(() => parseStoryArchive(archive)).not.toThrow();
        expect(archive.scenes).toHaveLength(file.scenes.length);
        const repaired = new Set(result.repairs.map((r) => r.path));
        // A scene's character entry is matched by its id, so its name is read only when the id does not match.
        const readAsText = changed !== undefined && textFields.has(String(changed.at(-1))) && !(changed[0] === 'scenes' && changed[2] === 'characters');
        if (changed && (kind === 'control' || kind === 'huge') && readAsText) {
          expect([...repaired], `${kind} at ${formatJsonPath(changed)}`).toContain(formatJsonPath(changed));
        }
        if (kind === 'empty-scene') expect([...repaired]).toContain(formatJsonPath(changed!));
        if (kind === 'case-twin') {
          expect([...repaired]).toContain(formatJsonPath(changed!));
          expect(archive.characters).toHaveLength(2);
          const merged = archive.characters.find((c) => c.description.includes('A second description'))!;
          expect(merged.goals).toContain('Another goal');
          expect(merged.background).toBe('Born at sea');
        }
        if (kind === 'none') expect(result.repairs).toEqual([]);
        counts = await countRows(db);
        outcomes[`${kind}: imported`] = (outcomes[`${kind}: imported`] ?? 0) + 1;
      }),
      { numRuns: 200 },
    );
    expect(Object.keys(outcomes).some((k) => k.endsWith('refused'))).toBe(true);
    expect(outcomes['control: imported']).toBeGreaterThan(0);
  }, 180_000);

  it('merges names differing only in case into one character, keeping both entries’ fields, and says so', async () => {
    const file = structuredClone(sample) as { characters: Record<string, Json>[] };
    file.characters.push({ id: 77, name: 'HANNA ROOS', description: 'Keeps the harbour log', personality: null, goals: null, background: 'Grew up on the island', metadata: { boat: 'Gull' } });
    const result = await importStoryFile(db, JSON.stringify(file), 'twins.json');
    const archive = await exportStoryArchive(db, result.storyId);
    expect(archive.characters.map((c) => c.name)).toEqual(['Hanna Roos', 'Piet Sand']);
    const hanna = archive.characters[0]!;
    expect(hanna.description).toBe('Harbourmaster of Vell, wears an oilskin coat, carries a lantern\n\nKeeps the harbour log');
    expect(hanna.personality).toBe('Brusque, watchful, protective of the village');
    expect(hanna.background).toBe('Grew up on the island');
    expect(hanna.metadata).toMatchObject({ boat: 'Gull', python_ids: [12, 77] });
    expect(result.repairs).toEqual([
      { path: 'characters[2]', repair: 'is the same person as characters[0] ("Hanna Roos"), differing only in case, spacing or punctuation; merged into one character with both entries\' fields' },
    ]);
  });

  it('clamps an over-long name, repairs an empty scene and control characters, listing each at its path in the file', async () => {
    const file = structuredClone(sample) as { story: Record<string, Json>; scenes: Record<string, Json>[]; characters: Record<string, Json>[] };
    file.characters[1]!['name'] = `Piet ${'Sand'.repeat(40)}`;
    file.scenes[1]!['content'] = '';
    file.scenes[1]!['raw_response'] = null;
    file.story['title'] = 'Salt\u0007 and Lanterns';
    const result = await importStoryFile(db, JSON.stringify(file), 'repairs.json');
    expect(result.repairs).toEqual([
      { path: 'characters[1].name', repair: 'was 165 characters; cut to 100' },
      { path: 'scenes[1].content', repair: 'is empty; "(This scene was empty in the original export.)" stands in for it' },
      { path: 'story.title', repair: 'held control characters or unpaired surrogates; they were removed' },
    ]);
    const archive = await exportStoryArchive(db, result.storyId);
    expect(archive.story.title).toBe('Salt and Lanterns');
    expect(archive.characters[1]!.name).toHaveLength(100);
    expect(archive.scenes[1]!.content).toBe('(This scene was empty in the original export.)');
  });

  it('refuses a file that is not a story with the real path, writing nothing', async () => {
    const before = await countRows(db);
    await expect(importStoryFile(db, JSON.stringify({ format_version: '1.0', story: { title: 'x' }, scenes: { a: 1 } }))).rejects.toMatchObject({
      code: 'validation',
      message: 'Invalid LivingWorld (Python) export: scenes: must be an array of scenes',
    });
    await expect(importStoryFile(db, JSON.stringify({ format_version: '1.0', story: { title: 'x' }, scenes: [{ content: 'a' }, 7] }))).rejects.toMatchObject({
      message: 'Invalid LivingWorld (Python) export: scenes[1]: must be an object (a scene)',
    });
    await expect(importStoryFile(db, JSON.stringify({ format_version: '1.0', scenes: [] }))).rejects.toMatchObject({
      message: 'Invalid LivingWorld (Python) export: story: is missing; a Python export has a "story" object',
    });
    expect(await countRows(db)).toEqual(before);
  });
});
