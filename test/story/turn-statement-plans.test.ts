import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { createOfflineProvider } from '../../src/llm/providers/offline.js';
import { createStory } from '../../src/story/create-story.js';
import { takeTurn } from '../../src/story/take-turn.js';
import { createEmbeddedTestDatabase, createServerTestDatabase, type BackendName } from '../helpers/db.js';
import { createTestEngine } from '../helpers/engine.js';

/**
 * Every statement a turn sends is prepared once per connection; PostgreSQL then plans it for
 * the first five calls and keeps a generic plan unless that looks dearer than the plans made
 * for the values. A statement whose generic plan always looks dearer (filters written as
 * `$n IS NULL OR …`, unnest of a parameter assumed to be ten rows) is planned on every call:
 * the memory candidates of a turn were, for half a millisecond a turn.
 */
describe.each<BackendName>(['server', 'embedded'])('the statements of a turn, on the %s backend', (backend) => {
  let db: Database;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    if (backend === 'server') {
      // One connection, so that pg_prepared_statements shows every statement the turns sent.
      const server = await createServerTestDatabase({ poolSize: 1 });
      db = server.db;
      dispose = server.drop;
    } else {
      db = await createEmbeddedTestDatabase();
      dispose = () => db.close();
    }
  });
  afterAll(async () => dispose());

  it('keep one plan each after their first calls instead of being planned on every turn', async () => {
    const deps = createTestEngine(db, createOfflineProvider({ seed: 11, latencyMs: 0 }));
    const { story } = await createStory(deps, { title: 'Planned once', setting: 'A ferry crossing on a wide brown river, where the ferryman Oren Vale keeps the toll.' });
    const turns = 16;
    for (let turn = 0; turn < turns; turn++) await takeTurn(deps, { storyId: story.id, kind: 'advance', choiceNumber: 1 + (turn % 3) });
    const { rows } = await db.query<{ statement: string; generic_plans: string; custom_plans: string }>(
      `SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements WHERE statement NOT LIKE '%pg_prepared_statements%'`,
    );
    // The turns really went through prepared statements, most of them called on every turn.
    expect(rows.filter((row) => Number(row.generic_plans) + Number(row.custom_plans) >= turns).length).toBeGreaterThan(10);
    const plannedEachTime = rows.filter((row) => Number(row.custom_plans) > 5).map((row) => row.statement.replace(/\s+/g, ' ').slice(0, 160));
    expect(plannedEachTime).toEqual([]);
  });
});
