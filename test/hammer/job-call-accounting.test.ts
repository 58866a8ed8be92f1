import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountForCalls } from '../../scripts/hammer/call-accounting.js';
import type { CallPurpose, ModelCall } from '../../scripts/hammer/fake-model-server.js';
import { Violations } from '../../scripts/hammer/violations.js';
import { createServerTestDatabase, type TestServerDatabase } from '../helpers/db.js';
import { createOfflineProvider } from '../../src/llm/providers/offline.js';
import { createStory } from '../../src/story/create-story.js';
import { takeTurn } from '../../src/story/take-turn.js';
import { createTestEngine } from '../helpers/engine.js';

function call(id: number, purpose: CallPurpose): ModelCall {
  return { id, incarnation: 'serve-0', purpose, storyTitle: 'A test story', stream: false, fault: 'none', startedAt: id, endedAt: id + 1, outcome: 'answered', retryOf: undefined, bodyHash: String(id) };
}

/** The kinds found, less the scene checks (the scenes here come from the offline storyteller, not the hammer's model). */
const jobFindings = (violations: Violations) => [...violations.counts.keys()].filter((kind) => !kind.startsWith('scene not written'));

const noLogs = () => ({ unrecordedByStory: new Map<string, number>(), unrecordedJobCalls: 0, errorMessages: new Map<string, number>() });

/** The hammer's background-job checks, against rows written the way a landing job writes them. */
describe('hammer accounting of background jobs (server)', () => {
  let server: TestServerDatabase;
  beforeAll(async () => void (server = await createServerTestDatabase()), 60_000);
  afterAll(async () => server.drop());

  it('passes jobs that landed once and names a job that landed twice, or calls nobody recorded', async () => {
    const { db } = server;
    const pool = db as unknown as pg.Pool;
    // Written by a turn, as in the hammer (scenes of no turn mark an imported copy, left out).
    const deps = createTestEngine(db, createOfflineProvider({ seed: 2 }));
    const { story } = await createStory(deps, { title: 'A test story', setting: 'A harbour' });
    const storyId = story.id;
    const sceneId = (await takeTurn(deps, { storyId, kind: 'advance', choiceNumber: 1 })).scene.id;
    const { rows } = await db.query<{ id: string }>(`INSERT INTO characters (story_id, name) VALUES ($1, 'Hammer Test Witness') RETURNING id`, [storyId]);
    const characterId = rows[0]!.id;
    const reflect = (callId: number) =>
      db.query(`INSERT INTO character_memories (story_id, character_id, scene_id, kind, content) VALUES ($1, $2, $3, 'reflection', $4)`, [
        storyId,
        characterId,
        sceneId,
        `[reflection call ${callId}] The player keeps returning.`,
      ]);
    await db.query(`INSERT INTO memories (story_id, kind, scene_id, through_scene_number, content) VALUES ($1, 'summary', $2, 1, '[summary call 2] So far.')`, [storyId, sceneId]);
    await reflect(3);
    await reflect(3);
    await db.query(`INSERT INTO model_call_counts (story_id, source_id, purpose, calls) VALUES ($1, 'job:a:1', 'summary', 1), ($1, 'job:b:1', 'reflection', 1)`, [storyId]);
    const calls = [call(2, 'summary'), call(3, 'reflection')];

    const clean = new Violations();
    const account = await accountForCalls(pool, calls, [], noLogs(), clean);
    expect(jobFindings(clean)).toEqual([]);
    expect(account).toMatchObject({ summary: 1, reflection: 1, recordedByJobs: { summary: 1, reflection: 1 }, summariesStored: 1, reflectionsStored: 2 });

    // A second claim of the same job landed too: its conclusions come from another call.
    await reflect(4);
    await db.query(`INSERT INTO model_call_counts (story_id, source_id, purpose, calls) VALUES ($1, 'job:b:2', 'reflection', 1)`, [storyId]);
    const twice = new Violations();
    await accountForCalls(pool, [...calls, call(4, 'reflection')], [], noLogs(), twice);
    expect(jobFindings(twice)).toEqual(['reflection job landed more than once']);

    // A summary call the model answered that no job claim recorded.
    const unrecorded = new Violations();
    await accountForCalls(pool, [...calls, call(4, 'reflection'), call(5, 'summary')], [], noLogs(), unrecorded);
    expect(jobFindings(unrecorded)).toEqual(['background model calls nobody accounts for', 'reflection job landed more than once']);
  });
});
