import { readCharactersAt, resolveSceneInStory } from '../../src/world/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { setLogger, createLogger } from '../../src/logger.js';
import { listCharacters, findCharacterByName } from '../../src/characters/character-repo.js';
import { listRelationships } from '../../src/characters/relationship-repo.js';
import { emotionSmoothing } from '../../src/characters/write-scene-characters.js';
import { buildTurnContext } from '../../src/memory/build-turn-context.js';
import { ensureEmbeddingSettings } from '../../src/memory/embedding-settings.js';
import { createTestDatabase, type BackendName } from '../helpers/db.js';
import { insertStory } from '../helpers/fixtures.js';
import { createTestEmbedder } from '../helpers/test-embedder.js';
import { writeScene } from '../memory/write-scene.js';

describe.each<BackendName>(['server', 'embedded'])('writing scene memories on the %s backend', (backend) => {
  let db: Database;
  let dispose: () => Promise<void>;
  const embedder = createTestEmbedder();
  beforeAll(async () => {
    ({ db, dispose } = await createTestDatabase(backend));
    await ensureEmbeddingSettings(db, embedder);
  });
  afterAll(async () => dispose());

  it('gives only the characters present a memory of the scene', async () => {
    const storyId = await insertStory(db);
    const first = await writeScene(db, embedder, {
      storyId,
      parentId: null,
      sceneNumber: 1,
      content: 'Maya hides the brass key under the lighthouse stairs.',
      characters: [
        { name: 'Maya Chen', role: 'present', thought: 'Nobody must find the key.', action: 'She hides the key.' },
        { name: 'Tomas', role: 'mentioned' },
      ],
    });
    const second = await writeScene(db, embedder, {
      storyId,
      parentId: first.sceneId,
      sceneNumber: 2,
      content: 'Tomas mends his nets at the harbour and hums.',
      characters: [{ name: 'Tomas', role: 'present', reaction: 'He waves at you.' }],
    });
    const { rows } = await db.query<{ name: string; content: string }>(
      `SELECT c.name, m.content FROM character_memories m JOIN characters c ON c.story_id = m.story_id AND c.id = m.character_id
       WHERE m.story_id = $1`,
      [storyId],
    );
    const tomasMemories = rows.filter((r) => r.name === 'Tomas').map((r) => r.content);
    expect(tomasMemories.some((m) => m.includes('nets'))).toBe(true);
    expect(tomasMemories.some((m) => /key/i.test(m))).toBe(false);

    // Recent window of 2 keeps both scenes in view: both characters are in the context, each
    // with only its own memories.
    const context = await buildTurnContext(db, embedder, { storyId, headSceneId: second.sceneId, queryText: 'where is the brass key hidden', recentWindow: 2 });
    const tomas = context.characters.find((c) => c.name === 'Tomas')!;
    const maya = context.characters.find((c) => c.name === 'Maya Chen')!;
    expect(tomas.memories!.join(' ')).not.toMatch(/key/i);
    expect(maya.memories!.join(' ')).toMatch(/key/i);
    expect(maya.memories!.join(' ')).not.toMatch(/nets/i);
  });

  it('ignores bad names from the model with a debug log and still writes the scene', async () => {
    const lines: string[] = [];
    const { pino } = await import('pino');
    setLogger(pino({ level: 'debug' }, { write: (line: string) => lines.push(line) }));
    try {
      const storyId = await insertStory(db);
      const bad: unknown[] = [
        { name: '' },
        { name: 'she' },
        { name: 'x'.repeat(100_000) },
        { name: '!!!' },
        { name: 42 },
        null,
        ...Array.from({ length: 500 }, (_, i) => ({ name: `Sailor Number ${i}`, role: 'present' })),
      ];
      const { sceneId } = await writeScene(db, embedder, { storyId, parentId: null, sceneNumber: 1, content: 'A crowd fills the quay.', characters: bad });
      const characters = await listCharacters(db, storyId);
      expect(characters).toHaveLength(20);
      expect(characters.every((c) => c.name.startsWith('Sailor Number'))).toBe(true);
      const { rows } = await db.query('SELECT 1 FROM scenes WHERE story_id = $1 AND id = $2 AND embedding IS NOT NULL', [storyId, sceneId]);
      expect(rows).toHaveLength(1);
      const messages = lines.map((line) => JSON.parse(line) as { level: number; msg: string });
      expect(messages.some((m) => m.level === 20 && m.msg === 'ignored character from model output')).toBe(true);
      expect(messages.some((m) => m.level === 20 && m.msg.startsWith('ignored characters beyond'))).toBe(true);
    } finally {
      setLogger(createLogger('warn'));
    }
  });

  it('smooths the emotional state, sets the mood, bumps the version and links relationships by name', async () => {
    const storyId = await insertStory(db);
    const first = await writeScene(db, embedder, {
      storyId,
      parentId: null,
      sceneNumber: 1,
      content: 'Maya and Tomas argue on the pier.',
      characters: [
        { name: 'Maya Chen', mood: 'angry', emotion: { valence: -1, arousal: 1 }, relationships: [{ target: 'Tomas', sentimentDelta: -0.3 }, { target: 'player', trustDelta: 0.2 }] },
        { name: 'Tomas', mood: 'sullen' },
      ],
    });
    const found = (await findCharacterByName(db, storyId, 'maya chen'))!;
    // Mood and emotion belong to the scene: read them at the head.
    const [maya] = await readCharactersAt(db, storyId, first.sceneId, { characterIds: [found.id] });
    if (!maya) throw new Error('Maya is not known at scene 1');
    expect(maya.mood).toBe('angry');
    expect(maya.emotion.valence).toBeCloseTo(-emotionSmoothing, 5);
    expect(maya.emotion.arousal).toBeCloseTo(emotionSmoothing, 5);
    expect(maya.emotion.dominance).toBe(0);
    expect(maya.version).toBe(1);
    await writeScene(db, embedder, {
      storyId,
      parentId: first.sceneId,
      sceneNumber: 2,
      content: 'Maya calms down.',
      characters: [{ name: 'MAYA CHEN', emotion: { valence: -1 } }],
    });
    // The state at the head (scene 2) carries both scenes' changes.
    const [after] = await readCharactersAt(db, storyId, await resolveSceneInStory(db, storyId), { characterIds: [maya.id] });
    if (!after) throw new Error('Maya is not known at the head');
    expect(after.name).toBe('Maya Chen');
    expect(after.mood).toBe('angry');
    expect(after.emotion.valence).toBeCloseTo(-(1 - (1 - emotionSmoothing) ** 2), 5);
    expect(after.version).toBe(2);
    const relationships = await listRelationships(db, storyId, maya.id, await resolveSceneInStory(db, storyId));
    expect(relationships.map((r) => [r.targetName, r.trust, r.sentiment])).toEqual([
      [null, expect.closeTo(0.2, 5), 0],
      ['Tomas', 0, expect.closeTo(-0.3, 5)],
    ]);
  });

  it('stores the scene digest and the player instruction with embeddings', async () => {
    const storyId = await insertStory(db);
    await writeScene(db, embedder, { storyId, parentId: null, sceneNumber: 1, content: 'Rain.', instruction: 'make it stormy' });
    const { rows } = await db.query<{ kind: string }>(`SELECT kind FROM memories WHERE story_id = $1 AND embedding IS NOT NULL`, [storyId]);
    expect(rows.map((r) => r.kind)).toEqual(['scene']);
    const { rows: instructions } = await db.query<{ content: string }>(`SELECT content FROM user_instructions WHERE story_id = $1 AND embedding IS NOT NULL`, [storyId]);
    expect(instructions.map((r) => r.content)).toEqual(['make it stormy']);
  });
});
