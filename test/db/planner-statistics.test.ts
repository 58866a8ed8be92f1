import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noteTurnForPlannerStatistics, refreshPlannerStatistics, turnsPerStatisticsRefresh, type Database } from '../../src/db/index.js';
import { createEmbeddedTestDatabase } from '../helpers/db.js';
import { insertScene, insertStory } from '../helpers/fixtures.js';

/** PGlite runs no autovacuum: the product collects the embedded planner's statistics itself. */
describe('planner statistics on the embedded database', () => {
  let db: Database;
  const statisticsOfScenes = async () =>
    (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stats WHERE schemaname = current_schema() AND tablename = 'scenes'`)).rows[0]!.n;
  beforeAll(async () => {
    db = await createEmbeddedTestDatabase();
    const storyId = await insertStory(db);
    let parent: string | null = null;
    for (let n = 1; n <= 5; n++) parent = await insertScene(db, storyId, parent, `Scene ${n}.`);
  }, 60_000);
  afterAll(async () => db.close());

  it('has none until refreshed, then has them', async () => {
    expect(await statisticsOfScenes()).toBe(0);
    await refreshPlannerStatistics(db);
    expect(await statisticsOfScenes()).toBeGreaterThan(0);
  });

  it('refreshes once per turnsPerStatisticsRefresh turns', async () => {
    await db.query('SELECT pg_stat_reset()');
    const analyzed = async () =>
      (await db.query<{ n: string }>(`SELECT analyze_count AS n FROM pg_stat_user_tables WHERE relname = 'scenes'`)).rows[0]!.n;
    const before = Number(await analyzed());
    for (let i = 0; i < turnsPerStatisticsRefresh - 1; i++) await noteTurnForPlannerStatistics(db);
    expect(Number(await analyzed())).toBe(before);
    await noteTurnForPlannerStatistics(db);
    expect(Number(await analyzed())).toBe(before + 1);
  });
});
