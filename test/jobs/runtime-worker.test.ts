import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngineRuntime, type EngineRuntime } from '../../src/runtime.js';
import { createStory } from '../../src/story/create-story.js';
import { takeTurn } from '../../src/story/take-turn.js';

/** The runtime `serve` and the interactive loop open runs the queue, here on the embedded database. */
describe('the engine runtime’s job worker (embedded database)', () => {
  let dir: string;
  let runtime: EngineRuntime;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-worker-'));
    runtime = await openEngineRuntime({
      backgroundWorker: true,
      env: { LIVINGWORLD_DATA_DIR: dir, LLM_PROVIDER: 'offline', EMBEDDINGS_PROVIDER: 'offline', LIVINGWORLD_SUMMARIES: 'model', LIVINGWORLD_SUMMARY_EVERY: '1', LOG_LEVEL: 'silent' },
    });
  }, 120_000);
  afterAll(async () => {
    await runtime?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs the summary jobs a turn queues, woken by the commit, and stops with the runtime', async () => {
    expect(runtime.worker).toBeDefined();
    const { story } = await createStory(runtime.deps, { title: 'Worker', setting: 'A lighthouse on a spit of sand' });
    for (let i = 0; i < 5; i++) await takeTurn(runtime.deps, { storyId: story.id, kind: 'advance', choiceNumber: 1 });
    const deadline = Date.now() + 15_000;
    let rows: { status: string }[] = [];
    while (Date.now() < deadline) {
      ({ rows } = await runtime.db.query<{ status: string }>(`SELECT status FROM background_jobs WHERE story_id = $1`, [story.id]));
      if (rows.length === 2 && rows.every((row) => row.status === 'done')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(rows).toEqual([{ status: 'done' }, { status: 'done' }]);
    const { rows: summaries } = await runtime.db.query(`SELECT 1 FROM memories WHERE story_id = $1 AND kind = 'summary'`, [story.id]);
    expect(summaries).toHaveLength(2);
  }, 60_000);
});
