import type pg from 'pg';
import type { StoryBook } from './story-book.js';
import type { Violations } from './violations.js';
import { foldWorldEvents, loadPathEvents, readCharactersAt, readRelationshipsAt, relationshipKey } from '../../src/world/index.js';

/**
 * The invariants of DESIGN §4 checked through SQL, each query returning the rows that break
 * one. All queries of a check run in one REPEATABLE READ snapshot, so they agree with each
 * other even while the hammer is still writing.
 */

interface SqlInvariant {
  name: string;
  sql: string;
}

const structural: SqlInvariant[] = [
  {
    // Walk every head path back to the opening with a recursive CTE: each step must drop the
    // scene number by exactly one and the walk must end at scene 1 with no parent.
    name: 'head path not linear',
    sql: `WITH RECURSIVE walk AS (
            SELECT s.id AS story_id, h.id AS scene_id, h.parent_scene_id, h.scene_number, 1 AS steps, true AS ok
              FROM stories s JOIN scenes h ON h.story_id = s.id AND h.id = s.head_scene_id
            UNION ALL
            SELECT w.story_id, p.id, p.parent_scene_id, p.scene_number, w.steps + 1, p.scene_number = w.scene_number - 1
              FROM walk w JOIN scenes p ON p.story_id = w.story_id AND p.id = w.parent_scene_id
             WHERE w.steps < 100000)
          SELECT story_id, max(steps) AS steps, max(scene_number) AS head_number
            FROM walk GROUP BY story_id
          HAVING NOT (bool_and(ok) AND bool_or(parent_scene_id IS NULL AND scene_number = 1) AND max(steps) = max(scene_number))`,
  },
  {
    name: 'story with scenes but no head',
    sql: `SELECT s.id FROM stories s WHERE s.head_scene_id IS NULL AND EXISTS (SELECT 1 FROM scenes sc WHERE sc.story_id = s.id)`,
  },
  {
    name: 'scene number does not follow its parent',
    sql: `SELECT c.story_id, c.id FROM scenes c LEFT JOIN scenes p ON p.story_id = c.story_id AND p.id = c.parent_scene_id
           WHERE (c.parent_scene_id IS NULL AND c.scene_number <> 1) OR (c.parent_scene_id IS NOT NULL AND (p.id IS NULL OR c.scene_number <> p.scene_number + 1))`,
  },
  {
    name: 'more than one scene for a turn',
    sql: `SELECT story_id, turn_id, count(*) FROM scenes WHERE turn_id IS NOT NULL GROUP BY story_id, turn_id HAVING count(*) > 1`,
  },
  {
    name: 'succeeded turn without its scene',
    sql: `SELECT t.story_id, t.id FROM turns t WHERE t.status = 'succeeded'
           AND NOT EXISTS (SELECT 1 FROM scenes s WHERE s.story_id = t.story_id AND s.id = t.scene_id AND s.turn_id = t.id)`,
  },
  {
    name: 'scene of a turn that did not succeed with it',
    sql: `SELECT s.story_id, s.id, t.status FROM scenes s JOIN turns t ON t.story_id = s.story_id AND t.id = s.turn_id
           WHERE t.status <> 'succeeded' OR t.scene_id <> s.id`,
  },
  {
    name: 'advance scene not under the scene and choice its turn asked for',
    sql: `SELECT t.story_id, t.id FROM turns t JOIN scenes s ON s.story_id = t.story_id AND s.id = t.scene_id
           WHERE t.kind = 'advance' AND (s.parent_scene_id IS DISTINCT FROM t.from_scene_id OR s.choice_number IS DISTINCT FROM t.choice_number)`,
  },
  {
    name: 'regenerated scene not a sibling of the scene it replaced',
    sql: `SELECT t.story_id, t.id FROM turns t JOIN scenes s ON s.story_id = t.story_id AND s.id = t.scene_id
            JOIN scenes f ON f.story_id = t.story_id AND f.id = t.from_scene_id
           WHERE t.kind = 'regenerate' AND s.parent_scene_id IS DISTINCT FROM f.parent_scene_id`,
  },
  {
    name: 'more than one generating turn for a story',
    sql: `SELECT story_id, count(*) FROM turns WHERE status = 'generating' GROUP BY story_id HAVING count(*) > 1`,
  },
  {
    name: 'scene without choices, or choices not numbered 1..n',
    sql: `SELECT s.story_id, s.id FROM scenes s LEFT JOIN choices c ON c.story_id = s.story_id AND c.scene_id = s.id
           GROUP BY s.story_id, s.id HAVING count(c.*) = 0 OR min(c.choice_number) <> 1 OR max(c.choice_number) <> count(c.*)`,
  },
  {
    name: 'taken choice not marked selected',
    sql: `SELECT s.story_id, s.id FROM scenes s WHERE s.parent_scene_id IS NOT NULL AND s.choice_number IS NOT NULL AND s.turn_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM choices c WHERE c.story_id = s.story_id AND c.scene_id = s.parent_scene_id AND c.choice_number = s.choice_number AND c.selected)`,
  },
  {
    name: 'two characters with one name_key',
    sql: `SELECT story_id, name_key, count(*) FROM characters GROUP BY story_id, name_key HAVING count(*) > 1`,
  },
  {
    name: 'character name_key not the normalised name',
    sql: `SELECT story_id, id, name FROM characters WHERE name_key IS DISTINCT FROM lw_name_key(name)`,
  },
  {
    name: 'two relationship rows for one pair',
    sql: `SELECT story_id, character_id, target_character_id, count(*) FROM character_relationships
           GROUP BY story_id, character_id, target_character_id HAVING count(*) > 1`,
  },
  {
    name: 'value out of range',
    sql: `SELECT 'character' AS what, story_id, id FROM characters
           WHERE emotion_valence NOT BETWEEN -1 AND 1 OR emotion_arousal NOT BETWEEN -1 AND 1 OR emotion_dominance NOT BETWEEN -1 AND 1 OR version < 0
          UNION ALL
          SELECT 'relationship', story_id, id FROM character_relationships
           WHERE sentiment NOT BETWEEN -1 AND 1 OR trust NOT BETWEEN 0 AND 1 OR familiarity NOT BETWEEN 0 AND 1 OR interaction_count < 0
          UNION ALL
          SELECT 'memory', story_id, id FROM character_memories WHERE importance NOT BETWEEN 0 AND 1 OR emotional_valence NOT BETWEEN -1 AND 1
          UNION ALL
          SELECT 'scene character', story_id, scene_id FROM scene_characters WHERE importance NOT BETWEEN 0 AND 1
          UNION ALL
          SELECT 'story', id, head_scene_id FROM stories WHERE version < 0
          UNION ALL
          SELECT 'turn', story_id, id FROM turns WHERE model_calls < 0 OR attempts < 1`,
  },
  {
    name: 'row of another story',
    sql: `SELECT 'scene_characters' AS what, sc.story_id, sc.scene_id FROM scene_characters sc
            JOIN characters c ON c.id = sc.character_id WHERE c.story_id <> sc.story_id
          UNION ALL
          SELECT 'relationship', r.story_id, r.id FROM character_relationships r
            JOIN characters c ON c.id = r.target_character_id WHERE c.story_id <> r.story_id`,
  },
];

export interface CheckSnapshot {
  label: string;
  broken: Map<string, unknown[]>;
}

export class InvariantChecker {
  constructor(
    private readonly pool: pg.Pool,
    private readonly violations: Violations,
  ) {}

  /** Runs `fn` in one read-only REPEATABLE READ snapshot. */
  async inSnapshot<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  /** The structural invariants; every broken row is a violation labelled with when it was seen. */
  async checkStructure(label: string): Promise<number> {
    return this.inSnapshot(async (client) => {
      let broken = 0;
      for (const invariant of structural) {
        const { rows } = await client.query(invariant.sql);
        broken += rows.length;
        for (const row of rows.slice(0, 5)) this.violations.add(invariant.name, `${label}: ${JSON.stringify(row)}`);
        if (rows.length > 5) this.violations.add(invariant.name, `${label}: …and ${rows.length - 5} more`);
      }
      return broken;
    });
  }

  /**
   * Story version = number of head moves: one per scene written by a turn, one per rewind.
   * Rewinds are known from the clients (acknowledged, plus those whose answer was lost).
   */
  async checkVersions(book: StoryBook): Promise<void> {
    const { rows } = await this.pool.query<{ id: string; version: number; turn_scenes: number }>(
      `SELECT s.id, s.version::int AS version, (SELECT count(*)::int FROM scenes sc WHERE sc.story_id = s.id AND sc.turn_id IS NOT NULL) AS turn_scenes
         FROM stories s`,
    );
    for (const row of rows) {
      const known = book.stories.get(row.id);
      const low = row.turn_scenes + (known?.rewindsAcknowledged ?? 0);
      const high = known ? low + known.rewindsUnknown : Number.POSITIVE_INFINITY;
      if (row.version < low || row.version > high) {
        this.violations.add('story version is not the number of head moves', `story ${row.id}: version ${row.version}, expected ${low}..${high} (${row.turn_scenes} scenes by turns)`);
      }
    }
  }

  /**
   * Invariant 7: the world at every story's head (its character and relationship snapshots)
   * equals the fold of the world events along the head's path. Read in one snapshot.
   */
  async checkHeadWorlds(): Promise<number> {
    return this.inSnapshot(async (client) => {
      const { rows: stories } = await client.query<{ id: string; head_scene_id: string }>(`SELECT id, head_scene_id FROM stories WHERE head_scene_id IS NOT NULL`);
      let broken = 0;
      const close = (a: number | undefined, b: number) => a !== undefined && Math.abs(a - b) < 1e-4;
      for (const story of stories) {
        const folded = foldWorldEvents(await loadPathEvents(client, story.id, story.head_scene_id));
        const characters = (await readCharactersAt(client, story.id, story.head_scene_id)).filter((c) => c.met);
        const relationships = await readRelationshipsAt(client, story.id, story.head_scene_id);
        const problems: string[] = [];
        if (folded.characters.size !== characters.length) problems.push(`${characters.length} characters met, fold has ${folded.characters.size}`);
        for (const c of characters) {
          const f = folded.characters.get(c.id);
          if (!f || f.mood !== c.mood || f.description !== c.description || !close(f.valence, c.emotion.valence)) problems.push(`character ${c.id}`);
        }
        if (folded.relationships.size !== relationships.length) problems.push(`${relationships.length} relationships, fold has ${folded.relationships.size}`);
        for (const r of relationships) {
          const f = folded.relationships.get(relationshipKey(r.characterId, r.targetCharacterId));
          if (!f || !close(f.trust, r.trust) || !close(f.sentiment, r.sentiment) || !close(f.familiarity, r.familiarity) || f.interactionCount !== r.interactionCount) {
            problems.push(`relationship ${r.characterId}>${r.targetCharacterId ?? 'player'}`);
          }
        }
        if (problems.length > 0) {
          broken++;
          this.violations.add('world at the head is not the fold of its path', `story ${story.id}: ${problems.slice(0, 5).join('; ')}`);
        }
      }
      return broken;
    });
  }

  /** Every scene a client received with a 201 still exists, where the request said it would hang. */
  async checkAcknowledgedScenes(book: StoryBook): Promise<void> {
    const ids = book.acknowledged.map((a) => a.sceneId);
    const { rows } = await this.pool.query<{ id: string; story_id: string; parent_scene_id: string | null; choice_number: number | null }>(
      `SELECT id, story_id, parent_scene_id, choice_number FROM scenes WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const ack of book.acknowledged) {
      const row = byId.get(ack.sceneId);
      if (!row || row.story_id !== ack.storyId) {
        this.violations.add('acknowledged scene lost', `${ack.op} on ${ack.incarnation}: scene ${ack.sceneId} of story ${ack.storyId}`);
        continue;
      }
      if (ack.expectedParentId !== undefined && (row.parent_scene_id !== ack.expectedParentId || row.choice_number !== ack.expectedChoice)) {
        this.violations.add(
          'acknowledged scene not where the request put it',
          `${ack.op}: scene ${ack.sceneId} under ${row.parent_scene_id} choice ${row.choice_number}, asked ${ack.expectedParentId} choice ${ack.expectedChoice}`,
        );
      }
    }
  }

  async generatingTurns(): Promise<{ story_id: string; id: string; lease_owner: string; expired: boolean; overdue_ms: number }[]> {
    const { rows } = await this.pool.query(
      `SELECT story_id, id, lease_owner, lease_expires_at < clock_timestamp() AS expired,
              GREATEST(0, extract(epoch FROM clock_timestamp() - lease_expires_at) * 1000)::int AS overdue_ms
         FROM turns WHERE status = 'generating'`,
    );
    return rows;
  }
}
