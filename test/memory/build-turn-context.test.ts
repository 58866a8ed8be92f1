import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { buildTurnContext, estimateTokens, fitToBudget } from '../../src/memory/build-turn-context.js';
import { ensureEmbeddingSettings } from '../../src/memory/embedding-settings.js';
import { planSummaryUpdate, storeSummary, summariseScenesLocally } from '../../src/memory/summarise.js';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { insertStory } from '../helpers/fixtures.js';
import { createTestEmbedder } from '../helpers/test-embedder.js';
import { writeScene } from './write-scene.js';

const places = ['quay', 'chapel', 'market', 'orchard', 'tavern', 'ropewalk', 'cliffs', 'granary', 'forge', 'ferry'];
const deeds = ['argue about tolls', 'mend a torn sail', 'sing an old shanty', 'count barrels of salt', 'watch the tide turn', 'sweep the cobbles'];

function fillerScene(n: number): string {
  const place = places[n % places.length]!;
  const deed = deeds[(n * 7) % deeds.length]!;
  const sentence = `At the ${place} the townsfolk ${deed} while gulls circle overhead and the day wears on. `;
  return `Scene ${n} opens. ${sentence.repeat(12)}`;
}

describe('turn context over a long story', () => {
  let server: TestServerDatabase;
  let db: Database;
  const embedder = createTestEmbedder({ dimension: 64 });
  let storyId: string;
  let headSceneId: string;
  const window = 4;

  beforeAll(async () => {
    server = await createServerTestDatabase();
    db = server.db;
    await ensureEmbeddingSettings(db, embedder);
    storyId = await insertStory(db);
    let parentId: string | null = null;
    for (let n = 1; n <= 500; n++) {
      const content = n === 1 ? 'Maya Chen hides the brass key beneath the lighthouse stairs. Nobody sees her do it.' : fillerScene(n);
      const characters =
        n === 1
          ? [{ name: 'Maya Chen', role: 'present' as const, importance: 1, thought: 'The brass key must stay hidden.', emotion: { valence: -0.5, arousal: 0.8 } }]
          : n % 5 === 0
            ? [{ name: 'Maya Chen', role: 'present' as const, importance: 0.3 }, { name: 'Tomas', role: 'present' as const }]
            : [{ name: 'Tomas', role: 'present' as const, importance: 0.4 }];
      ({ sceneId: parentId } = await writeScene(db, embedder, { storyId, parentId, sceneNumber: n, content, characters, chosenAction: 'walk on' }));
      // The engine's summary step, with the local summariser standing in for the model.
      if (n % 25 === 0) {
        const plan = await planSummaryUpdate(db, storyId, n, { recentWindow: window, pathSceneId: parentId!, maxScenesPerUpdate: 50 });
        if (plan.needed) {
          const content = summariseScenesLocally(plan.previousSummary, plan.scenesToAdd, 2000);
          const [embedding] = await embedder.embed([content]);
          await storeSummary(db, { storyId, sceneId: parentId!, content, throughSceneNumber: plan.throughSceneNumber, embedding: embedding! });
        }
      }
    }
    headSceneId = parentId!;
  }, 300_000);
  afterAll(async () => server.drop());

  it('stays within the token budget at scene 500, keeping the recent window', async () => {
    const context = await buildTurnContext(db, embedder, { storyId, headSceneId, queryText: 'walk on', tokenBudget: 3000, recentWindow: window });
    expect(context.estimatedTokens).toBeLessThanOrEqual(3000);
    expect(context.recentScenes.map((s) => s.sceneNumber)).toEqual([497, 498, 499, 500]);
    expect(context.summary).toBeDefined();
  });

  it('still recalls the first scene’s key fact at scene 500', async () => {
    const context = await buildTurnContext(db, embedder, {
      storyId,
      headSceneId,
      queryText: 'Where did Maya hide the brass key?',
      tokenBudget: 3000,
      recentWindow: window,
    });
    expect(context.estimatedTokens).toBeLessThanOrEqual(3000);
    expect(context.summary).toContain('brass key');
    const recalled = [...context.memories, ...context.similarScenes, ...context.characters.flatMap((c) => c.memories ?? [])].join('\n');
    expect(recalled).toContain('brass key');
    const maya = context.characters.find((c) => c.name === 'Maya Chen');
    expect(maya?.memories?.join('\n')).toContain('brass key');
  });

  it('plans no summary update while the summary covers everything before the window', async () => {
    const plan = await planSummaryUpdate(db, storyId, 500, { recentWindow: window, pathSceneId: headSceneId, minNewScenes: 25 });
    expect(plan.needed).toBe(false);
    expect(plan.coveredThrough).toBeGreaterThanOrEqual(475);
  });

  it('drops similar scenes, then lore, then memories before touching the recent window', () => {
    const scene = { sceneNumber: 1, content: 'x'.repeat(400) };
    const context = fitToBudget(
      {
        recentScenes: [scene],
        summary: 's'.repeat(40),
        memories: ['m'.repeat(200)],
        lore: ['l'.repeat(200)],
        similarScenes: ['p'.repeat(200)],
        instructions: [],
        characters: [],
      },
      // At 3.2 characters a token: recent scene 125 + 4, summary 13, each list item 63 + 2: room for one of the three lists.
      129 + 13 + 65,
    );
    expect(context.similarScenes).toEqual([]);
    expect(context.lore).toEqual([]);
    expect(context.memories).toHaveLength(1);
    expect(context.recentScenes[0]!.content).toHaveLength(400);
    expect(context.estimatedTokens).toBe(207);
    expect(estimateTokens('abcdefgh')).toBe(3);
  });

  it('returns an empty context before the opening scene', async () => {
    const context = await buildTurnContext(db, embedder, { storyId, headSceneId: null, queryText: 'begin' });
    expect(context).toMatchObject({ recentScenes: [], memories: [], characters: [], estimatedTokens: 0 });
  });
});

describe('summariseScenesLocally', () => {
  it('keeps the first line and thins the middle when over the limit', () => {
    const scenes = Array.from({ length: 100 }, (_, i) => ({ sceneNumber: i + 1, content: `Event number ${i + 1} happens here. More detail follows.` }));
    const summary = summariseScenesLocally(undefined, scenes, 600);
    expect(summary.length).toBeLessThanOrEqual(600);
    expect(summary.split('\n')[0]).toBe('Scene 1: Event number 1 happens here.');
    expect(summary.split('\n').at(-1)).toBe('Scene 100: Event number 100 happens here.');
    expect(summariseScenesLocally(undefined, scenes, 600)).toBe(summary);
  });
});
