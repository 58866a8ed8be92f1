import type { Queryable } from '../db/index.js';
import type { JobHandler } from '../jobs/index.js';
import { insertCharacterMemories, type NewCharacterMemory } from '../memory/memory-repo.js';
import type { EngineDeps } from '../story/engine-deps.js';
import { callModel } from '../story/generate-scene.js';
import { buildReflectionRequest } from '../story/prompts.js';
import { createSourceCallCounter } from '../story/turn-call-counter.js';
import { headPathCte } from '../world/scene-path.js';

/**
 * Reflections (Generative Agents, Park et al. 2023, §4.2): once the summed importance of a
 * character's memories since its last reflection passes a threshold, the model draws a few
 * conclusions from them, each linked to the memories it rests on. Stored as memories of kind
 * 'reflection' at the scene the reflection was made due at, so they follow that branch and
 * are retrieved like any memory.
 */

/**
 * Where each character last reflected along the path: a stored reflection or one already
 * queued (so a pending job is not queued again), leaving out the job at `exceptJobSceneParam`.
 */
const lastReflectionCte = (exceptJobSceneParam?: string) => `last_reflection AS (
    SELECT c.character_id, max(c.scene_number) AS scene_number FROM (
      SELECT m.character_id, p.scene_number FROM character_memories m JOIN head_path p ON m.story_id = $1 AND m.scene_id = p.id
       WHERE m.kind = 'reflection'
      UNION ALL
      SELECT (ids.id)::uuid, p.scene_number FROM background_jobs j JOIN head_path p ON j.story_id = $1 AND j.scene_id = p.id
        CROSS JOIN LATERAL jsonb_array_elements_text(j.payload -> 'characterIds') AS ids(id)
       WHERE j.kind = 'reflection' AND j.status <> 'failed' ${exceptJobSceneParam ? `AND j.scene_id <> ${exceptJobSceneParam}` : ''}
    ) c GROUP BY c.character_id
  )`;

/**
 * The characters present at `sceneId` whose memories on its path since their last reflection
 * (or queued one) weigh more than `threshold` in importance. Read in the turn's commit, after
 * the scene's memories are written.
 */
export async function findCharactersDueForReflection(tx: Queryable, storyId: string, sceneId: string, threshold: number): Promise<string[]> {
  if (threshold <= 0) return [];
  const { rows } = await tx.query<{ character_id: string }>(
    `${headPathCte('$1', '$2')}, ${lastReflectionCte()}
     SELECT m.character_id
       FROM character_memories m
       JOIN head_path p ON m.story_id = $1 AND m.scene_id = p.id
       LEFT JOIN last_reflection r ON r.character_id = m.character_id
      WHERE m.kind <> 'reflection' AND p.scene_number > COALESCE(r.scene_number, 0)
        AND m.character_id IN (SELECT character_id FROM scene_characters WHERE story_id = $1 AND scene_id = $2 AND role = 'present')
      GROUP BY m.character_id
     HAVING sum(m.importance) > $3
      ORDER BY m.character_id`,
    [storyId, sceneId, threshold],
  );
  return rows.map((row) => row.character_id);
}

interface SourceMemory {
  id: string;
  content: string;
  importance: number;
}

async function memoriesSinceLastReflection(db: Queryable, storyId: string, sceneId: string, characterId: string): Promise<SourceMemory[]> {
  const { rows } = await db.query<{ id: string; content: string; importance: number }>(
    `${headPathCte('$1', '$2')}, ${lastReflectionCte('$2')}
     SELECT m.id, m.content, m.importance
       FROM character_memories m
       JOIN head_path p ON m.story_id = $1 AND m.scene_id = p.id
       LEFT JOIN last_reflection r ON r.character_id = m.character_id
      WHERE m.character_id = $3 AND m.kind <> 'reflection' AND p.scene_number > COALESCE(r.scene_number, 0)
      ORDER BY m.importance DESC, p.scene_number DESC, m.id
      LIMIT 24`,
    [storyId, sceneId, characterId],
  );
  return rows.map((row) => ({ id: row.id, content: row.content, importance: Number(row.importance) }));
}

/** Reads the model's conclusions leniently: JSON {"reflections": [...]} or a bare list; evidence as memory numbers. */
export function parseReflections(text: string, memoryCount: number): { text: string; evidence: number[] }[] {
  const start = text.indexOf('{');
  const arrayStart = text.indexOf('[');
  let value: unknown;
  try {
    value = JSON.parse(start >= 0 && (arrayStart < 0 || start < arrayStart) ? text.slice(start, text.lastIndexOf('}') + 1) : text.slice(arrayStart, text.lastIndexOf(']') + 1));
  } catch {
    return [];
  }
  const list = Array.isArray(value) ? value : (value as Record<string, unknown> | null)?.['reflections'];
  if (!Array.isArray(list)) return [];
  const conclusions: { text: string; evidence: number[] }[] = [];
  for (const item of list.slice(0, 5)) {
    const record = typeof item === 'string' ? { text: item } : (item as Record<string, unknown>);
    const statement = typeof record?.['text'] === 'string' ? record['text'] : typeof record?.['insight'] === 'string' ? record['insight'] : '';
    const cited = Array.isArray(record?.['evidence']) ? record['evidence'] : Array.isArray(record?.['memories']) ? record['memories'] : [];
    const evidence = [...new Set(cited.map(Number).filter((n: number) => Number.isInteger(n) && n >= 1 && n <= memoryCount))];
    if (statement.trim() !== '') conclusions.push({ text: statement.replace(/\s+/g, ' ').trim().slice(0, 1000), evidence });
  }
  return conclusions;
}

export function createReflectionJobHandler(deps: EngineDeps): JobHandler {
  return async (job, signal) => {
    const characterIds = Array.isArray(job.payload['characterIds']) ? (job.payload['characterIds'] as string[]) : [];
    const calls = createSourceCallCounter(deps.db, { storyId: job.storyId, sourceId: `job:${job.id}:${job.claimId}`, purpose: 'reflection' }, deps.log);
    const reflections: NewCharacterMemory[] = [];
    for (const characterId of characterIds) {
      const { rows } = await deps.db.query<{ name: string }>(`SELECT name FROM characters WHERE story_id = $1 AND id = $2`, [job.storyId, characterId]);
      if (!rows[0]) continue;
      const memories = await memoriesSinceLastReflection(deps.db, job.storyId, job.sceneId, characterId);
      if (memories.length < 2) continue;
      const request = buildReflectionRequest({ characterName: rows[0].name, memories, seed: memories.length });
      const completion = await callModel(deps.provider, request, signal, { countCall: () => calls.start() });
      const conclusions = parseReflections(completion.text, memories.length).filter((c) => c.evidence.length > 0);
      if (conclusions.length === 0) continue;
      const embeddings = await deps.embedder.embed(conclusions.map((c) => c.text), signal);
      conclusions.forEach((conclusion, index) => {
        const grounds = conclusion.evidence.map((n) => memories[n - 1]!);
        reflections.push({
          storyId: job.storyId,
          characterId,
          sceneId: job.sceneId,
          kind: 'reflection',
          content: conclusion.text,
          emotionalValence: 0,
          // A conclusion weighs at least as much as what it rests on.
          importance: Math.min(1, Math.max(...grounds.map((m) => m.importance)) + 0.1),
          embedding: embeddings[index] ?? null,
          evidenceMemoryIds: grounds.map((m) => m.id),
        });
      });
    }
    return { write: (tx) => insertCharacterMemories(tx, reflections), ...(reflections.length === 0 ? { note: 'no conclusions to store' } : {}) };
  };
}
