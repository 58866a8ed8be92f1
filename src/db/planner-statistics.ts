import type { Database } from './database.js';
import { getLogger } from '../logger.js';

/**
 * Planner statistics for the embedded database. PGlite runs no autovacuum, so without an
 * explicit ANALYZE its planner sees every table as a handful of rows and, at a few thousand
 * scenes, picks plans that scan far more than they need: on a 2,000-scene story the
 * path-scoped reads of one turn took about 60 % longer before ANALYZE than after
 * (bench/profile-world-turn.ts). The server's autovacuum keeps its own statistics, so these
 * are no-ops there.
 */

/** After a bulk change (an import, re-embedding): refresh the statistics now. */
export async function refreshPlannerStatistics(db: Database): Promise<void> {
  if (db.kind !== 'embedded') return;
  const started = performance.now();
  try {
    await db.query('ANALYZE');
    getLogger().debug({ ms: Math.round(performance.now() - started) }, 'planner statistics refreshed');
  } catch (error) {
    // Statistics only steer plans; a failed ANALYZE leaves results right, only slower.
    getLogger().warn({ err: error }, 'could not refresh planner statistics');
  }
}

/** Turns committed in this process per database since its statistics were last refreshed. */
const turnsSinceRefresh = new WeakMap<Database, number>();
/** As autovacuum would after enough new rows: one ANALYZE per this many turns (a turn writes ~10 rows). */
export const turnsPerStatisticsRefresh = 200;

/**
 * After a turn commits: refresh the statistics every `turnsPerStatisticsRefresh` turns. True
 * on those turns (on both backends), when other upkeep that follows the data's growth is due too.
 */
export async function noteTurnForPlannerStatistics(db: Database): Promise<boolean> {
  const turns = (turnsSinceRefresh.get(db) ?? 0) + 1;
  if (turns < turnsPerStatisticsRefresh) {
    turnsSinceRefresh.set(db, turns);
    return false;
  }
  turnsSinceRefresh.set(db, 0);
  await refreshPlannerStatistics(db);
  return true;
}
