import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { createStory } from '../../src/story/create-story.js';
import { takeTurn } from '../../src/story/take-turn.js';
import { createEmbeddedTestDatabase } from '../helpers/db.js';
import { createCountingProvider } from '../helpers/counting-provider.js';
import { createTestEngine } from '../helpers/engine.js';

let db: Database;
beforeAll(async () => {
  db = await createEmbeddedTestDatabase();
});
afterAll(async () => db.close());

const choices = ['Open the door', 'Wait outside', 'Call for help'];

async function storyAnswering(answer: string) {
  const opening = createTestEngine(db, createCountingProvider({ latencyMs: 0 }));
  const { story } = await createStory(opening, { title: 'Bad output', setting: 'A lighthouse' });
  const deps = createTestEngine(db, createCountingProvider({ latencyMs: 0, answer: () => answer }));
  return { deps, storyId: story.id };
}

async function characterNames(storyId: string): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>('SELECT name FROM characters WHERE story_id = $1 ORDER BY name', [storyId]);
  return rows.map((r) => r.name);
}

describe('model output that is wrong in its characters', () => {
  it('ignores 500 names, empty names, pronouns and a 100 KB name, and the turn still succeeds', async () => {
    const junk = [
      { name: '' },
      { name: '   ' },
      { name: 'he' },
      { name: 'You' },
      { name: 'the guard' },
      { name: 'x'.repeat(100_000) },
      { name: 42 },
      null,
      'Just a string',
      ...Array.from({ length: 500 }, (_, i) => ({ name: `Extra Person ${i}`, role: 'mentioned' })),
    ];
    const { deps, storyId } = await storyAnswering(JSON.stringify({ scene: 'The door creaks open.', choices, characters: [{ name: 'Ada Quill', role: 'present' }, ...junk] }));
    const result = await takeTurn(deps, { storyId, kind: 'advance', choiceNumber: 1 });
    expect(result.scene.content).toBe('The door creaks open.');
    const names = await characterNames(storyId);
    expect(names).toContain('Ada Quill');
    expect(names.length).toBeLessThanOrEqual(21);
    expect(names.every((n) => n.length <= 100 && !['he', 'You', 'the guard', ''].includes(n.trim()))).toBe(true);
  });

  it('takes a prose answer whose character list is not JSON at all', async () => {
    const { deps, storyId } = await storyAnswering('The keeper nods at you.\n\nWhat do you do?\n1. Open the door\n2. Wait outside\n3. Call for help\n\nCharacters: {not json');
    const result = await takeTurn(deps, { storyId, kind: 'advance', choiceNumber: 2 });
    expect(result.scene.choices.map((c) => c.content)).toEqual(choices);
  });

  it('takes characters given as the wrong type and still writes the scene', async () => {
    const { deps, storyId } = await storyAnswering(JSON.stringify({ scene: 'Wind.', choices, characters: 'Ada, Bram' }));
    await expect(takeTurn(deps, { storyId, kind: 'advance', choiceNumber: 3 })).resolves.toMatchObject({ scene: { content: 'Wind.' } });
  });
});
