import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { loadLatestSummary, loadNewestSummaries, newestSummaryFrom, storeSummary } from '../../src/memory/summarise.js';
import { createEmbeddedTestDatabase } from '../helpers/db.js';
import { insertScene, insertStory } from '../helpers/fixtures.js';

/**
 * A turn reads the newest summaries once, for its context, and its summary update after the
 * scene answers from the same read (one threshold further). Whatever summaries a path holds
 * (ties of reach, summaries on other branches, imports reaching anywhere), the answer taken from
 * the read is the one a read of its own gives, or the read says it cannot tell.
 */
describe('newest summaries read once for two thresholds', () => {
  let db: Database;
  beforeAll(async () => {
    db = await createEmbeddedTestDatabase();
  });
  afterAll(async () => db.close());

  it('gives exactly what a read of its own gives, for seeded random summaries on a branchy path', async () => {
    let state = 7;
    const random = (n: number) => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) % n);
    let undecided = 0;
    let checked = 0;
    for (let round = 0; round < 6; round++) {
      const storyId = await insertStory(db);
      const path: string[] = [];
      let parent: string | null = null;
      for (let n = 1; n <= 14; n++) {
        parent = await insertScene(db, storyId, parent, `Scene ${n}`);
        path.push(parent);
        // A side branch whose summaries the path must never see.
        if (n % 4 === 0) {
          const side = await insertScene(db, storyId, path[n - 2] ?? null, `Side of ${n}`);
          await storeSummary(db, { storyId, sceneId: side, content: `side ${n}`, throughSceneNumber: n - 1, embedding: null });
        }
      }
      for (const [i, sceneId] of path.entries()) {
        if (random(3) !== 0) continue;
        // Reaches cluster, so that two summaries often reach exactly as far.
        await storeSummary(db, { storyId, sceneId, content: `summary at ${i + 1}`, throughSceneNumber: Math.min(i + 1, 3 + random(4) * 2), embedding: null });
      }
      const headSceneId = path.at(-1)!;
      for (let threshold = 0; threshold <= 12; threshold++) {
        const read = await loadNewestSummaries(db, storyId, { headSceneId, atMostThrough: threshold, pathSceneIds: path });
        for (const asked of [threshold, threshold - 1]) {
          const own = await loadLatestSummary(db, storyId, { headSceneId, atMostThrough: asked });
          const answer = newestSummaryFrom(read, asked);
          checked++;
          if (answer === 'unknown') undecided++;
          else expect(answer).toEqual(own);
        }
        expect(newestSummaryFrom(read, threshold - 2)).toBe('unknown');
      }
    }
    // The read decides nearly always; only two summaries reaching exactly the threshold leave it open.
    expect(undecided).toBeGreaterThan(0);
    expect(undecided / checked).toBeLessThan(0.25);
  });
});
