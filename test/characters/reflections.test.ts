import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { getCharacterDetail } from '../../src/characters/get-character-detail.js';
import { parseReflections } from '../../src/characters/reflection-job.js';
import { createJobWorker, backgroundSettingsFor } from '../../src/jobs/index.js';
import { readModelCallsByPurpose } from '../../src/llm/model-call-counts.js';
import { buildTurnContext } from '../../src/memory/build-turn-context.js';
import { createBackgroundJobHandlers } from '../../src/story/background-job-handlers.js';
import { createStory } from '../../src/story/create-story.js';
import { rewindStory } from '../../src/story/rewind-story.js';
import { takeTurn } from '../../src/story/take-turn.js';
import { createCountingProvider } from '../helpers/counting-provider.js';
import { createTestDatabase, type BackendName } from '../helpers/db.js';
import { createTestEngine } from '../helpers/engine.js';

/** Scenes in which Mara Vell is present and moved (important memories); reflections answered as JSON citing memories 1 and 2. */
function scripted(request: { purpose?: string; task?: { kind: string } }, call: number): string {
  if (request.purpose === 'reflection') {
    return JSON.stringify({ reflections: [{ text: `Mara Vell has decided the player can be trusted (${call}).`, evidence: [1, 2] }, { text: 'No grounds given.', evidence: [] }] });
  }
  return JSON.stringify({
    scene: `Call ${call}: Mara Vell walks the quay beside you and tells you about the drowned bell.`,
    choices: ['Follow Mara along the quay', 'Ask about the bell', 'Climb to the lighthouse'],
    characters: [{ name: 'Mara Vell', role: 'present', importance: 0.9, thought: `The stranger listened (${call}).`, reaction: 'She softens.', mood: 'warm' }],
  });
}

describe('parsing reflections', () => {
  it('keeps conclusions with their cited memory numbers, within range, and drops what cannot be read', () => {
    expect(parseReflections('{"reflections": [{"text": "A", "evidence": [1, 9, 2, 2]}, {"text": ""}, 5]}', 3)).toEqual([{ text: 'A', evidence: [1, 2] }]);
    expect(parseReflections('not json', 3)).toEqual([]);
  });
});

describe.each<BackendName>(['embedded', 'server'])('reflections (%s)', (backend) => {
  let db: Database;
  let dispose: () => Promise<void>;
  beforeAll(async () => ({ db, dispose } = await createTestDatabase(backend)), 60_000);
  afterAll(async () => dispose());

  it('queues a reflection once importance passes the threshold, stores conclusions linked to their memories, and retrieves them on that branch only', async () => {
    const provider = createCountingProvider({ latencyMs: 0, answer: scripted });
    const deps = { ...createTestEngine(db, provider), background: backgroundSettingsFor(provider, { summaries: 'extractive', reflectionThreshold: 2.5 }) };
    const worker = createJobWorker({ db, log: deps.log, owner: deps.instanceId, handlers: createBackgroundJobHandlers(deps), skipStoriesGenerating: false });
    const { story, opening } = await createStory(deps, { title: 'Bells', setting: 'A drowned harbour' });
    const heads = [opening.scene.id];
    for (let i = 0; i < 3; i++) heads.push((await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 1 })).scene.id);
    const { rows: jobs } = await db.query<{ scene_number: number; scene_id: string; payload: { characterIds: string[] } }>(
      `SELECT s.scene_number, j.scene_id, j.payload FROM background_jobs j JOIN scenes s ON s.story_id = j.story_id AND s.id = j.scene_id
        WHERE j.story_id = $1 AND j.kind = 'reflection' ORDER BY 1`,
      [story.id],
    );
    // Each scene leaves Mara about 2 in importance: past 2.5 at scenes 2 and 4. The job queued
    // at 2 counts as her last reflection while pending, so scene 3 queues none.
    expect(jobs.map((job) => job.scene_number)).toEqual([2, 4]);
    const reflectedAt = jobs[0]!.scene_id;
    expect(await worker.drain()).toBe(2);

    const mara = jobs[0]!.payload.characterIds[0]!;
    const detail = await getCharacterDetail(db, mara);
    // Newest first; the conclusion without evidence was not kept.
    expect(detail.reflections.map((r) => r.sceneId)).toEqual([jobs[1]!.scene_id, reflectedAt]);
    expect(detail.reflections[1]!.content).toMatch(/^Mara Vell has decided the player can be trusted/);
    expect(detail.reflections[1]!.evidence).toHaveLength(2);
    for (const memory of detail.reflections[1]!.evidence) expect(memory.kind).not.toBe('reflection');
    expect(detail.memories.some((memory) => memory.kind === 'reflection')).toBe(true);
    expect((await readModelCallsByPurpose(db, story.id)).reflection).toBe(2);

    // Retrieved like a memory when the next scene's context is built.
    const context = await buildTurnContext(db, deps.embedder, { storyId: story.id, headSceneId: heads.at(-1)!, queryText: 'Can Mara trust the player?' });
    expect(context.characters.find((c) => c.name === 'Mara Vell')?.memories?.join('\n')).toContain('can be trusted');

    // A branch that left before the reflection's scene never drew that conclusion.
    const index = heads.indexOf(reflectedAt);
    await rewindStory(deps, story.id, { toSceneId: heads[index - 1]! });
    const branchHead = (await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 2 })).scene.id;
    const onBranch = await getCharacterDetail(db, mara, { atSceneId: branchHead });
    expect(onBranch.reflections).toEqual([]);
  });
});
