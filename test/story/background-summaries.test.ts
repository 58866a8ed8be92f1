import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { createJobWorker, backgroundSettingsFor } from '../../src/jobs/index.js';
import { createOfflineProvider } from '../../src/llm/providers/offline.js';
import { readModelCallsByPurpose } from '../../src/llm/model-call-counts.js';
import { buildTurnContext } from '../../src/memory/build-turn-context.js';
import { loadLatestSummary } from '../../src/memory/summarise.js';
import { createBackgroundJobHandlers } from '../../src/story/background-job-handlers.js';
import { createStory } from '../../src/story/create-story.js';
import { rewindStory } from '../../src/story/rewind-story.js';
import { takeTurn } from '../../src/story/take-turn.js';
import { createTestDatabase, type BackendName } from '../helpers/db.js';
import { createTestEngine } from '../helpers/engine.js';

describe.each<BackendName>(['embedded', 'server'])('model-written rolling summaries (%s)', (backend) => {
  let db: Database;
  let dispose: () => Promise<void>;
  beforeAll(async () => ({ db, dispose } = await createTestDatabase(backend)), 60_000);
  afterAll(async () => dispose());

  function engine() {
    const provider = createOfflineProvider({ seed: 3 });
    const deps = { ...createTestEngine(db, provider), background: backgroundSettingsFor(provider, { summaries: 'model', summaryEveryScenes: 2 }) };
    const worker = createJobWorker({ db, log: deps.log, owner: deps.instanceId, handlers: createBackgroundJobHandlers(deps), skipStoriesGenerating: false });
    return { deps, worker };
  }

  it('queues a summary job every N scenes leaving the window, stores it at its scene, and counts its call apart from the turns', async () => {
    const { deps, worker } = engine();
    const { story } = await createStory(deps, { title: 'Summaries', setting: 'A salt marsh village' });
    const heads: string[] = [];
    for (let i = 0; i < 9; i++) heads.push((await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 1 })).scene.id);
    // Scenes 2..10: due at 6, 8, 10 (2, 4, 6 scenes out of the four-scene window).
    const { rows: jobs } = await db.query<{ scene_number: number; status: string }>(
      `SELECT s.scene_number, j.status FROM background_jobs j JOIN scenes s ON s.story_id = j.story_id AND s.id = j.scene_id WHERE j.story_id = $1 ORDER BY 1`,
      [story.id],
    );
    expect(jobs).toEqual([6, 8, 10].map((n) => ({ scene_number: n, status: 'queued' })));
    // Nothing summarised on the turn's path: no summary until the worker runs.
    expect((await db.query(`SELECT 1 FROM memories WHERE story_id = $1 AND kind = 'summary'`, [story.id])).rows).toHaveLength(0);
    expect(await worker.drain()).toBe(3);
    const { rows: summaries } = await db.query<{ scene_number: number; through_scene_number: number }>(
      `SELECT s.scene_number, m.through_scene_number FROM memories m JOIN scenes s ON s.story_id = m.story_id AND s.id = m.scene_id
        WHERE m.story_id = $1 AND m.kind = 'summary' ORDER BY 1`,
      [story.id],
    );
    expect(summaries).toEqual([
      { scene_number: 6, through_scene_number: 2 },
      { scene_number: 8, through_scene_number: 4 },
      { scene_number: 10, through_scene_number: 6 },
    ]);
    const calls = await readModelCallsByPurpose(db, story.id);
    expect(calls).toMatchObject({ scene: 10, summary: 3, repair: 0 });
    // The head's context uses the newest summary on its path.
    const context = await buildTurnContext(db, deps.embedder, { storyId: story.id, headSceneId: heads.at(-1)! });
    const { rows: newest } = await db.query<{ content: string }>(
      `SELECT m.content FROM memories m WHERE m.story_id = $1 AND m.kind = 'summary' AND m.scene_id = $2`,
      [story.id, heads.at(-1)],
    );
    expect(context.summary).toBe(newest[0]!.content);
  });

  it('uses only summaries made along the branch: a rewind before a summary’s scene no longer sees it', async () => {
    const { deps, worker } = engine();
    const { story, opening } = await createStory(deps, { title: 'Branches', setting: 'A mountain pass' });
    const heads = [opening.scene.id];
    for (let i = 0; i < 9; i++) heads.push((await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 1 })).scene.id);
    await worker.drain();
    // Back to scene 7 and on along another choice: scene 8's summary belongs to the abandoned branch.
    await rewindStory(deps, story.id, { toSceneId: heads[6]! });
    let head = '';
    for (let i = 0; i < 3; i++) head = (await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 2 })).scene.id;
    const { rows: made } = await db.query<{ scene_id: string; content: string }>(
      `SELECT scene_id, content FROM memories WHERE story_id = $1 AND kind = 'summary'`,
      [story.id],
    );
    const abandoned = made.filter((m) => m.scene_id === heads[7] || m.scene_id === heads[9]).map((m) => m.content);
    expect(abandoned).toHaveLength(2);
    const context = await buildTurnContext(db, deps.embedder, { storyId: story.id, headSceneId: head });
    // Scene 10 of the new branch, before its own summary job ran: the newest on its path is scene 6's.
    expect(context.summary).toBe(made.find((m) => m.scene_id === heads[5])!.content);
    await worker.drain();
    // The same scenes 1..6 lie behind both branches' scene 10, so the texts may agree; which row is read may not.
    const used = await loadLatestSummary(db, story.id, { headSceneId: head, atMostThrough: 6 });
    expect(used?.sceneId).toBe(head);
    expect([heads[7], heads[9]]).not.toContain(used?.sceneId);
  });
});
