import { resolveSceneInStory } from '../../src/world/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import type { CompletionRequest, ModelProvider } from '../../src/llm/provider.js';
import { findCharacterByName } from '../../src/characters/character-repo.js';
import { listRelationships } from '../../src/characters/relationship-repo.js';
import { talkFamiliarityDelta, talkToCharacter } from '../../src/characters/talk-to-character.js';
import { ensureEmbeddingSettings } from '../../src/memory/embedding-settings.js';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { insertStory } from '../helpers/fixtures.js';
import { createTestEmbedder } from '../helpers/test-embedder.js';
import { writeScene } from '../memory/write-scene.js';

/** Records each request and whether a transaction was open on the database when it came. */
function recordingProvider(db: Database, reply: string): ModelProvider & { requests: CompletionRequest[]; busyConnections: number[] } {
  const provider = {
    name: 'test',
    model: 'echo',
    offline: true,
    requests: [] as CompletionRequest[],
    busyConnections: [] as number[],
    async complete(request: CompletionRequest) {
      provider.requests.push(request);
      const stats = db.poolStats();
      provider.busyConnections.push(stats.total - stats.idle);
      return { text: reply, model: 'echo' };
    },
    async *stream() {
      yield reply;
    },
  };
  return provider;
}

describe('talking to a character', () => {
  let server: TestServerDatabase;
  let db: Database;
  const embedder = createTestEmbedder({ dimension: 32 });
  beforeAll(async () => {
    server = await createServerTestDatabase();
    db = server.db;
    await ensureEmbeddingSettings(db, embedder);
  });
  afterAll(async () => server.drop());

  it('answers from the character’s own memories and stores the exchange, outside any transaction', async () => {
    const storyId = await insertStory(db);
    const first = await writeScene(db, embedder, {
      storyId,
      parentId: null,
      sceneNumber: 1,
      content: 'Maya buries the silver compass in the dunes.',
      characters: [{ name: 'Maya Chen', personality: 'guarded', mood: 'wary', relationships: [{ target: 'player', trustDelta: 0.3 }] }],
    });
    await writeScene(db, embedder, {
      storyId,
      parentId: first.sceneId,
      sceneNumber: 2,
      content: 'Tomas counts gold coins in the cellar.',
      characters: [{ name: 'Tomas', role: 'present' }],
    });
    const maya = (await findCharacterByName(db, storyId, 'Maya Chen'))!;
    const provider = recordingProvider(db, 'I buried nothing, stranger.');

    const { reply } = await talkToCharacter({ db, provider, embedder }, { storyId, characterId: maya.id, message: 'Where is the silver compass?' });
    expect(reply).toBe('I buried nothing, stranger.');

    const request = provider.requests[0]!;
    expect(request.task).toMatchObject({ kind: 'talk', message: 'Where is the silver compass?', character: { name: 'Maya Chen', personality: 'guarded', mood: 'wary' } });
    const task = request.task as Extract<NonNullable<CompletionRequest['task']>, { kind: 'talk' }>;
    expect(task.character.trust).toBeCloseTo(0.3, 5);
    expect(task.character.memories!.join(' ')).toContain('compass');
    expect(task.character.memories!.join(' ')).not.toContain('gold coins');
    expect(request.messages[0]!.content).toContain('Maya Chen');
    // No connection was checked out (no transaction open) while the model was called.
    expect(provider.busyConnections).toEqual([0]);

    const { rows } = await db.query<{ kind: string; content: string; has_embedding: boolean }>(
      `SELECT kind, content, embedding IS NOT NULL AS has_embedding FROM character_memories WHERE story_id = $1 AND character_id = $2 AND kind = 'conversation'`,
      [storyId, maya.id],
    );
    expect(rows).toEqual([{ kind: 'conversation', content: expect.stringContaining('I buried nothing') as string, has_embedding: true }]);
    const [relationship] = await listRelationships(db, storyId, maya.id, await resolveSceneInStory(db, storyId));
    expect(relationship!.familiarity).toBeCloseTo(0.05 + talkFamiliarityDelta, 5);
    expect(relationship!.interactionCount).toBe(2);
  });

  it('counts every one of 10 concurrent conversations', async () => {
    const storyId = await insertStory(db);
    await writeScene(db, embedder, { storyId, parentId: null, sceneNumber: 1, content: 'Ines tends the lamp.', characters: [{ name: 'Ines' }] });
    const ines = (await findCharacterByName(db, storyId, 'Ines'))!;
    const provider = recordingProvider(db, 'Mind the stairs.');
    await Promise.all(Array.from({ length: 10 }, (_, i) => talkToCharacter({ db, provider, embedder }, { characterId: ines.id, message: `Question ${i}` })));
    const [relationship] = await listRelationships(db, storyId, ines.id, await resolveSceneInStory(db, storyId));
    expect(relationship!.interactionCount).toBe(10);
    expect(relationship!.familiarity).toBeCloseTo(10 * talkFamiliarityDelta, 5);
  });

  it('refuses an empty message and a character of another story', async () => {
    const storyId = await insertStory(db);
    const other = await insertStory(db);
    await writeScene(db, embedder, { storyId, parentId: null, sceneNumber: 1, content: 'Odile waits.', characters: [{ name: 'Odile' }] });
    const odile = (await findCharacterByName(db, storyId, 'Odile'))!;
    const provider = recordingProvider(db, 'Hm.');
    await expect(talkToCharacter({ db, provider, embedder }, { characterId: odile.id, message: '   ' })).rejects.toMatchObject({ code: 'validation' });
    await expect(talkToCharacter({ db, provider, embedder }, { storyId: other, characterId: odile.id, message: 'Hi' })).rejects.toMatchObject({ code: 'not_found' });
    expect(provider.requests).toHaveLength(0);
  });
});
