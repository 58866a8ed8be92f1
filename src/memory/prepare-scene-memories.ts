import { characterNameKey, cleanCharacterName } from '../characters/character-name.js';
import { getLogger } from '../logger.js';
import type { SceneCharacter, SceneOutput } from '../story/scene-output.js';
import type { Embedder } from './embedder.js';
import { embedOrDefer } from './embedding-backfill.js';
import type { CharacterMemoryKind } from './memory-repo.js';

/** At most this many characters of one scene are written; the parser caps at the same number. */
export const maxCharactersPerScene = 20;
const maxRelationshipsPerCharacter = 20;

export interface PreparedMemory {
  kind: CharacterMemoryKind;
  content: string;
  importance: number;
  emotionalValence: number;
  /** null: the embedder was down; the row is stored without one and back-filled. */
  embedding: number[] | null;
}

export interface PreparedRelationshipChange {
  /** null: the player. */
  targetName: string | null;
  sentimentDelta: number;
  trustDelta: number;
  familiarityDelta: number;
  type?: string;
}

export interface PreparedCharacter {
  /** Display name, cleaned. */
  name: string;
  role: 'present' | 'mentioned';
  /** How central the character is to the scene, 0..1. */
  sceneImportance: number;
  description?: string;
  personality?: string;
  goals?: string;
  mood?: string;
  emotion?: { valence?: number; arousal?: number; dominance?: number };
  /** Only present characters witness a scene; mentioned ones get none of it. */
  memories: PreparedMemory[];
  relationships: PreparedRelationshipChange[];
}

/** Everything `writeSceneMemories` needs, embeddings included, computed before any transaction. */
export interface PreparedSceneMemories {
  sceneEmbedding: number[] | null;
  /** The story-wide digest of the scene (a `memories` row of kind 'scene'). */
  digest: { content: string; importance: number; embedding: number[] | null };
  instruction?: { content: string; embedding: number[] | null };
  /** The embedder failed: every embedding above is null, for a background job to fill in. */
  embeddingsDeferred: boolean;
  characters: PreparedCharacter[];
  /** Entries dropped as unusable (bad names, duplicates, over the limit). */
  ignoredCharacters: number;
}

export interface PrepareSceneMemoriesInput {
  storyId: string;
  sceneContent: string;
  sceneNumber: number;
  output: SceneOutput;
  chosenAction?: string;
  instruction?: string;
}

/** A few leading sentences of the scene, cut at a sentence end: what a witness remembers. */
export function digestScene(content: string, maxChars = 400): string {
  const text = content.replace(/\s+/g, ' ').trim();
  if (text.length <= maxChars) return text;
  const cut = text.slice(0, maxChars);
  const lastStop = Math.max(cut.lastIndexOf('. '), cut.lastIndexOf('! '), cut.lastIndexOf('? '));
  return lastStop > maxChars / 3 ? cut.slice(0, lastStop + 1) : `${cut.trimEnd()}…`;
}

const baseImportance: Record<CharacterMemoryKind, number> = {
  observation: 0.3,
  thought: 0.4,
  action: 0.45,
  reaction: 0.45,
  conversation: 0.5,
  reflection: 0.6,
  told: 0.4,
};

/**
 * Importance 0..1 without a model call: the kind of memory, how central the character is to
 * the scene, and how strongly it feels (the paper's "poignancy", from valence and arousal).
 */
export function rateImportance(kind: CharacterMemoryKind, sceneImportance: number, emotion?: PreparedCharacter['emotion']): number {
  const intensity = Math.max(Math.abs(emotion?.valence ?? 0), Math.abs(emotion?.arousal ?? 0));
  return clamp(baseImportance[kind] + 0.3 * sceneImportance + 0.25 * intensity, 0, 1);
}

function clamp(value: number, min: number, max: number): number {
  return Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : min;
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function text(value: unknown, maxLength: number): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed.slice(0, maxLength);
}

const playerNames = /^(you|player|the player|me|protagonist|the protagonist)$/i;

function prepareRelationships(raw: SceneCharacter['relationships'], ownKey: string): PreparedRelationshipChange[] {
  if (!Array.isArray(raw)) return [];
  const changes: PreparedRelationshipChange[] = [];
  for (const entry of raw.slice(0, maxRelationshipsPerCharacter)) {
    const target = typeof entry?.target === 'string' ? entry.target.trim() : '';
    let targetName: string | null;
    if (playerNames.test(target)) targetName = null;
    else {
      const verdict = cleanCharacterName(target);
      if (!('name' in verdict) || characterNameKey(verdict.name) === ownKey) continue;
      targetName = verdict.name;
    }
    const change: PreparedRelationshipChange = {
      targetName,
      sentimentDelta: clamp(finite(entry.sentimentDelta) ?? 0, -1, 1),
      trustDelta: clamp(finite(entry.trustDelta) ?? 0, -1, 1),
      // Sharing a scene makes them a little more familiar even when the model says nothing.
      familiarityDelta: clamp(finite(entry.familiarityDelta) ?? 0.05, -1, 1),
    };
    const type = text(entry.type, 50);
    if (type !== undefined) change.type = type;
    changes.push(change);
  }
  return changes;
}

type PendingMemory = Omit<PreparedMemory, 'embedding'> & { embedding?: number[] };
type PendingCharacter = Omit<PreparedCharacter, 'memories'> & { memories: PendingMemory[] };

/**
 * Validates the model's characters once more (cheaply: the parser did the real work) and
 * computes every embedding the scene's write needs. Runs with no transaction open.
 */
export async function prepareSceneMemories(
  embedder: Embedder,
  input: PrepareSceneMemoriesInput,
  signal?: AbortSignal,
): Promise<PreparedSceneMemories> {
  const log = getLogger().child({ storyId: input.storyId, sceneNumber: input.sceneNumber });
  const digest = digestScene(input.sceneContent);
  const chosen = text(input.chosenAction, 500);
  const observation = `Scene ${input.sceneNumber}: ${chosen ? `the player chose to ${chosen.replace(/\.$/, '')}. ` : ''}${digest}`;

  const characters: PendingCharacter[] = [];
  const seen = new Set<string>();
  const raw: unknown[] = Array.isArray(input.output.characters) ? input.output.characters : [];
  let ignored = 0;
  for (const [index, entry] of raw.entries()) {
    if (characters.length >= maxCharactersPerScene) {
      ignored += raw.length - index;
      log.debug({ count: raw.length - index }, `ignored characters beyond ${maxCharactersPerScene}`);
      break;
    }
    const candidate = (typeof entry === 'object' && entry !== null ? entry : {}) as Partial<SceneCharacter>;
    const verdict = cleanCharacterName(candidate.name);
    if (!('name' in verdict)) {
      ignored++;
      log.debug({ index, reason: verdict.reason }, 'ignored character from model output');
      continue;
    }
    const key = characterNameKey(verdict.name);
    if (seen.has(key)) {
      ignored++;
      log.debug({ index }, 'ignored duplicate character from model output');
      continue;
    }
    seen.add(key);
    const role = candidate.role === 'mentioned' ? 'mentioned' : 'present';
    const sceneImportance = clamp(finite(candidate.importance) ?? 0.5, 0, 1);
    const emotion = candidate.emotion
      ? {
          ...(finite(candidate.emotion.valence) === undefined ? {} : { valence: clamp(candidate.emotion.valence!, -1, 1) }),
          ...(finite(candidate.emotion.arousal) === undefined ? {} : { arousal: clamp(candidate.emotion.arousal!, -1, 1) }),
          ...(finite(candidate.emotion.dominance) === undefined ? {} : { dominance: clamp(candidate.emotion.dominance!, -1, 1) }),
        }
      : undefined;
    const valence = emotion?.valence ?? 0;
    const memories: PendingMemory[] = [];
    if (role === 'present') {
      const add = (kind: CharacterMemoryKind, content: string | undefined) => {
        if (content === undefined) return;
        memories.push({ kind, content, importance: rateImportance(kind, sceneImportance, emotion), emotionalValence: valence });
      };
      add('observation', observation);
      add('thought', text(candidate.thought, 4000));
      add('action', text(candidate.action, 4000));
      add('reaction', text(candidate.reaction, 4000));
    }
    const prepared: PendingCharacter = {
      name: verdict.name,
      role,
      sceneImportance,
      memories,
      relationships: role === 'present' ? prepareRelationships(candidate.relationships, key) : [],
    };
    for (const [field, max] of [['description', 4000], ['personality', 4000], ['goals', 4000], ['mood', 100]] as const) {
      const value = text(candidate[field], max);
      if (value !== undefined) prepared[field] = value;
    }
    if (emotion && Object.keys(emotion).length > 0) prepared.emotion = emotion;
    characters.push(prepared);
  }

  // Embed each distinct text once: every witness shares the same observation text.
  const instruction = text(input.instruction, 2000);
  const texts = new Set<string>([input.sceneContent, digest]);
  if (instruction !== undefined) texts.add(instruction);
  for (const character of characters) for (const memory of character.memories) texts.add(memory.content);
  const textList = [...texts];
  const vectors = await embedOrDefer(embedder, textList, log, 'turn', signal);
  const embeddingOf = new Map(textList.map((t, i) => [t, vectors?.[i] ?? null]));
  const vectorFor = (t: string) => embeddingOf.get(t) ?? null;

  const sceneImportanceOverall = Math.max(0.3, ...characters.map((c) => c.sceneImportance * 0.8));
  return {
    sceneEmbedding: vectorFor(input.sceneContent),
    digest: { content: `Scene ${input.sceneNumber}: ${digest}`, importance: clamp(sceneImportanceOverall, 0, 1), embedding: vectorFor(digest) },
    ...(instruction === undefined ? {} : { instruction: { content: instruction, embedding: vectorFor(instruction) } }),
    characters: characters.map((character) => ({
      ...character,
      memories: character.memories.map((memory) => ({ ...memory, embedding: vectorFor(memory.content) })),
    })),
    ignoredCharacters: ignored,
    embeddingsDeferred: vectors === undefined,
  };
}
