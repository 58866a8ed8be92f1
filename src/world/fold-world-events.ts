import type { Queryable } from '../db/index.js';
import { headPathCte } from './scene-path.js';

/**
 * The world at a scene computed the slow, obvious way: every event along its path folded in
 * order. The snapshots must always equal this (the hammer and the property tests check it);
 * nothing on a hot path calls it.
 */

export interface WorldEvent {
  seq: number;
  sceneId: string;
  source: string;
  characterId: string;
  targetCharacterId: string | null;
  op: 'meet' | 'update' | 'relationship' | 'relationship_set';
  payload: Record<string, any>;
}

export interface FoldedCharacter {
  description: string;
  personality: string;
  goals: string;
  background: string;
  mood: string;
  valence: number;
  arousal: number;
  dominance: number;
}

export interface FoldedRelationship {
  sentiment: number;
  trust: number;
  familiarity: number;
  type: string;
  interactionCount: number;
}

export interface FoldedWorld {
  characters: Map<string, FoldedCharacter>;
  /** Keyed by `${characterId}>${targetCharacterId ?? 'player'}`. */
  relationships: Map<string, FoldedRelationship>;
}

export function relationshipKey(characterId: string, targetCharacterId: string | null): string {
  return `${characterId}>${targetCharacterId ?? 'player'}`;
}

const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, value));
const round6 = (value: number) => Math.round(value * 1e6) / 1e6;
/** float4, as the snapshot columns store it, so that a fold sees what the database sees. */
const real = (value: number) => Math.fround(value);

function smooth(old: number, reading: unknown, alpha: number): number {
  const target = typeof reading === 'number' ? reading : old;
  return real(clamp(old + real(alpha) * (target - old), -1, 1));
}

/** Folds events in the order given (the path's order). */
export function foldWorldEvents(events: Iterable<WorldEvent>): FoldedWorld {
  const characters = new Map<string, FoldedCharacter>();
  const relationships = new Map<string, FoldedRelationship>();
  for (const event of events) {
    const p = event.payload;
    if (event.op === 'meet') {
      if (characters.has(event.characterId)) continue;
      characters.set(event.characterId, {
        description: p['description'] ?? '',
        personality: p['personality'] ?? '',
        goals: p['goals'] ?? '',
        background: p['background'] ?? '',
        mood: p['mood'] ?? 'neutral',
        valence: real(Number(p['valence'] ?? 0)),
        arousal: real(Number(p['arousal'] ?? 0)),
        dominance: real(Number(p['dominance'] ?? 0)),
      });
    } else if (event.op === 'update') {
      const state = characters.get(event.characterId);
      if (!state) continue;
      const set = p['set'] ?? {};
      const fill = p['fill'] ?? {};
      for (const field of ['description', 'personality', 'goals'] as const) {
        if (typeof set[field] === 'string') state[field] = set[field];
        else if (state[field] === '' && typeof fill[field] === 'string') state[field] = fill[field];
      }
      if (typeof set['background'] === 'string') state.background = set['background'];
      if (typeof set['mood'] === 'string') state.mood = set['mood'];
      if (p['emotion']) {
        const e = p['emotion'];
        state.valence = smooth(state.valence, e['valence'], e['alpha']);
        state.arousal = smooth(state.arousal, e['arousal'], e['alpha']);
        state.dominance = smooth(state.dominance, e['dominance'], e['alpha']);
      }
    } else if (event.op === 'relationship') {
      const key = relationshipKey(event.characterId, event.targetCharacterId);
      const old = relationships.get(key);
      const step = (value: number, delta: unknown, low: number) => real(clamp(round6(value + Number(delta ?? 0)), low, 1));
      relationships.set(key, {
        sentiment: step(old?.sentiment ?? 0, p['sentimentDelta'], -1),
        trust: step(old?.trust ?? 0, p['trustDelta'], 0),
        familiarity: step(old?.familiarity ?? 0, p['familiarityDelta'], 0),
        type: typeof p['type'] === 'string' ? p['type'] : old?.type ?? 'acquaintance',
        interactionCount: (old?.interactionCount ?? 0) + 1,
      });
    } else if (event.op === 'relationship_set') {
      relationships.set(relationshipKey(event.characterId, event.targetCharacterId), {
        sentiment: real(Number(p['sentiment'])),
        trust: real(Number(p['trust'])),
        familiarity: real(Number(p['familiarity'])),
        type: String(p['type']),
        interactionCount: Number(p['interactionCount']),
      });
    }
  }
  return { characters, relationships };
}

/**
 * The events that make up the world at `sceneId`: for each scene of its path, the events
 * anchored there up to the moment the path went on to its child (`state_through_seq`), and
 * every event of the scene itself.
 */
export async function loadPathEvents(db: Queryable, storyId: string, sceneId: string): Promise<WorldEvent[]> {
  const { rows } = await db.query<{
    seq: string | number;
    scene_id: string;
    source: string;
    character_id: string;
    target_character_id: string | null;
    op: WorldEvent['op'];
    payload: Record<string, any>;
  }>(
    `${headPathCte('$1', '$2')},
     bounds AS (
       SELECT p.id, p.scene_number, c.state_through_seq AS through_seq
         FROM head_path p LEFT JOIN head_path c ON c.parent_scene_id = p.id
     )
     SELECT e.seq, e.scene_id, e.source, e.character_id, e.target_character_id, e.op, e.payload
       FROM bounds b JOIN world_events e ON e.story_id = $1 AND e.scene_id = b.id AND (b.through_seq IS NULL OR e.seq <= b.through_seq)
      ORDER BY b.scene_number, e.seq`,
    [storyId, sceneId],
  );
  return rows.map((row) => ({
    seq: Number(row.seq),
    sceneId: row.scene_id,
    source: row.source,
    characterId: row.character_id,
    targetCharacterId: row.target_character_id,
    op: row.op,
    payload: row.payload,
  }));
}
