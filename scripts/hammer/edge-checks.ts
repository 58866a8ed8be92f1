import type pg from 'pg';
import type { KeyedWrite, StoryBook } from './story-book.js';
import type { Violations } from './violations.js';

/**
 * Checks for the edges: every keyed write had at most one effect however often it was sent
 * (and exactly one when it was acknowledged), and no scene was written while its story was archived.
 */

export interface EffectAccount {
  keyedWrites: number;
  /** Keyed writes sent more than once (their outcome was unknown). */
  retried: number;
  duplicateEffects: number;
}

// Other clients import (copy) stories, marks included: a copy is not an effect of the keyed write.
const effectCount: Record<KeyedWrite['kind'], (write: KeyedWrite) => [string, unknown[]]> = {
  'create-story': (w) => [`SELECT count(*)::int AS n FROM stories WHERE title = $1 AND import_hash IS NULL`, [w.text]],
  import: (w) => [`SELECT count(*)::int AS n FROM stories WHERE import_hash = $1`, [w.text]],
  talk: (w) => [`SELECT count(*)::int AS n FROM character_memories WHERE story_id = $1 AND kind = 'conversation' AND content LIKE '%' || $2 || '%'`, [w.storyId, w.text]],
};

export async function checkKeyedEffects(pool: pg.Pool, book: StoryBook, violations: Violations): Promise<EffectAccount> {
  let duplicateEffects = 0;
  for (const write of book.keyedWrites) {
    const { rows } = await pool.query<{ n: number }>(...effectCount[write.kind](write));
    const effects = rows[0]!.n;
    if (effects > 1) {
      duplicateEffects += effects - 1;
      violations.add('duplicate effect of a retried request', `${write.kind} "${write.text}" key ${write.key}: ${effects} effects from ${write.attempts} sends`);
    }
    if (write.acknowledged && effects === 0) violations.add('acknowledged keyed write left no effect', `${write.kind} "${write.text}" key ${write.key}`);
  }
  return { keyedWrites: book.keyedWrites.length, retried: book.keyedWrites.filter((w) => w.attempts > 1).length, duplicateEffects };
}

/** A scene's created_at is its commit transaction's start: one inside an archive window landed on an archived story. */
export async function checkArchiveWindows(pool: pg.Pool, book: StoryBook, violations: Violations): Promise<number> {
  let landed = 0;
  for (const window of book.archiveWindows) {
    const { rows } = await pool.query<{ id: string }>(
      `SELECT id FROM scenes WHERE story_id = $1 AND created_at > to_timestamp($2 / 1000.0) AND created_at < to_timestamp($3 / 1000.0)`,
      [window.storyId, window.fromMs + 50, window.toMs - 50],
    );
    landed += rows.length;
    for (const row of rows) violations.add('scene written while its story was archived', `story ${window.storyId} scene ${row.id}`);
  }
  return landed;
}
