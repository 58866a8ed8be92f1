import type { RelationshipChange, SceneCharacter } from './scene-output.js';

/** Reports an ignored entry or field; callers log it at debug. */
export type SanitizeLog = (message: string, data?: object) => void;

export const maxCharactersPerScene = 20;
export const maxCharacterNameLength = 100;
const maxRelationshipsPerCharacter = 20;
// Mirrors the length checks on the characters table so that a write never fails on them.
const maxTextFieldLength = 4000;
const maxMoodLength = 100;
const maxRelationshipTypeLength = 50;

/**
 * The normalised name the database keys characters on; mirrors `lw_name_key` in
 * migrations/0001_init.sql (trim surrounding spaces and punctuation, collapse inner
 * spaces, lower case). POSIX [:punct:] covers ASCII symbols too, hence \p{S}.
 */
export function characterNameKey(name: string): string {
  return name
    .replace(/^[\s\p{P}\p{S}]+|[\s\p{P}\p{S}]+$/gu, '')
    .replace(/\s+/g, ' ')
    .toLowerCase();
}

// Words a model uses for someone it has not named; never a character of their own.
const genericReferences = new Set([
  'he', 'she', 'they', 'them', 'him', 'her', 'it', 'you', 'i', 'me', 'we', 'us', 'myself', 'yourself',
  'someone', 'somebody', 'anyone', 'anybody', 'everyone', 'everybody', 'no one', 'nobody', 'noone',
  'narrator', 'the narrator', 'player', 'the player', 'user', 'the user', 'protagonist', 'the protagonist',
  'unknown', 'stranger', 'character', 'npc', 'man', 'woman', 'boy', 'girl', 'child', 'guard', 'voice',
  'figure', 'crowd', 'people', 'others', 'other', 'companion', 'friend', 'enemy', 'hero', 'villain',
]);

// Roles a model capitalises as if they were names ("The Innkeeper"); still descriptions.
const genericRoles = new Set([
  'guard', 'guards', 'soldier', 'innkeeper', 'barkeep', 'bartender', 'merchant', 'shopkeeper', 'stranger',
  'old man', 'old woman', 'young man', 'young woman', 'man', 'woman', 'boy', 'girl', 'child', 'figure',
  'voice', 'crowd', 'narrator', 'player', 'traveller', 'traveler', 'villager', 'villagers', 'sailor', 'priest',
]);

type NameVerdict = { name: string } | { reason: string };

function judgeName(raw: unknown): NameVerdict {
  if (typeof raw !== 'string') return { reason: 'name is not a string' };
  // Checked before any regex work so that a 100 KB name costs nothing.
  if (raw.length > maxCharacterNameLength * 2) return { reason: 'name too long' };
  const name = raw
    .replace(/[*_`]+/g, '')
    .replace(/^[\s\p{P}\p{S}]+|[\s\p{P}\p{S}]+$/gu, '')
    .replace(/\s+/g, ' ');
  if (name.length === 0) return { reason: 'empty name' };
  if (name.length > maxCharacterNameLength) return { reason: 'name too long' };
  if (!/\p{L}/u.test(name)) return { reason: 'name has no letters' };
  const key = name.toLowerCase();
  if (genericReferences.has(key)) return { reason: 'pronoun or generic reference' };
  // "a woman", "an old sailor": an indefinite description, not a name.
  if (/^(a|an|some|another|one|two|three|several)\s/i.test(name)) return { reason: 'pronoun or generic reference' };
  // "the guard", "the old man" are descriptions; "The Pale King" is a title worth keeping.
  if (/^the\s/i.test(name) && (!/\p{Lu}/u.test(name.slice(4)) || genericRoles.has(key.slice(4)))) {
    return { reason: 'pronoun or generic reference' };
  }
  return { name };
}

function clampNumber(value: unknown, min: number, max: number): number | undefined {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number)) return undefined;
  return Math.min(max, Math.max(min, number));
}

function cleanText(value: unknown, maxLength: number): string | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  return text.length > maxLength ? text.slice(0, maxLength).trimEnd() : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sanitizeEmotion(raw: unknown): SceneCharacter['emotion'] {
  if (!isRecord(raw)) return undefined;
  const emotion: NonNullable<SceneCharacter['emotion']> = {};
  for (const axis of ['valence', 'arousal', 'dominance'] as const) {
    const value = clampNumber(raw[axis], -1, 1);
    if (value !== undefined) emotion[axis] = value;
  }
  return Object.keys(emotion).length > 0 ? emotion : undefined;
}

function sanitizeRelationships(raw: unknown, owner: string, log: SanitizeLog): RelationshipChange[] | undefined {
  if (!Array.isArray(raw)) return undefined;
  const relationships: RelationshipChange[] = [];
  for (const entry of raw.slice(0, maxRelationshipsPerCharacter)) {
    const rawTarget = isRecord(entry) ? cleanText(entry['target'], maxCharacterNameLength * 2) : undefined;
    if (!isRecord(entry) || rawTarget === undefined) {
      log('ignored relationship without a target', { character: owner });
      continue;
    }
    // The player appears under many names in model output; the engine knows it as "player".
    const isPlayer = /^(you|the player|player|me|protagonist|the protagonist)$/i.test(rawTarget);
    const verdict = isPlayer ? { name: 'player' } : judgeName(rawTarget);
    if (!('name' in verdict)) {
      log('ignored relationship target', { character: owner, reason: verdict.reason });
      continue;
    }
    const change: RelationshipChange = { target: verdict.name };
    const sentimentDelta = clampNumber(entry['sentimentDelta'], -1, 1);
    const trustDelta = clampNumber(entry['trustDelta'], -1, 1);
    const familiarityDelta = clampNumber(entry['familiarityDelta'], -1, 1);
    const type = cleanText(entry['type'], maxRelationshipTypeLength);
    if (sentimentDelta !== undefined) change.sentimentDelta = sentimentDelta;
    if (trustDelta !== undefined) change.trustDelta = trustDelta;
    if (familiarityDelta !== undefined) change.familiarityDelta = familiarityDelta;
    if (type !== undefined) change.type = type;
    relationships.push(change);
  }
  return relationships.length > 0 ? relationships : undefined;
}

const textFields = ['description', 'personality', 'goals', 'thought', 'action', 'reaction'] as const;

function sanitizeCharacter(entry: Record<string, unknown>, name: string, log: SanitizeLog): SceneCharacter {
  const character: SceneCharacter = { name };
  const role = typeof entry['role'] === 'string' ? entry['role'].trim().toLowerCase() : undefined;
  if (role === 'present' || role === 'mentioned') character.role = role;
  else if (entry['role'] !== undefined) log('dropped invalid character role', { character: name });

  const importance = clampNumber(entry['importance'], 0, 1);
  if (importance !== undefined) character.importance = importance;
  else if (entry['importance'] !== undefined) log('dropped invalid character importance', { character: name });

  for (const field of textFields) {
    const text = cleanText(entry[field], maxTextFieldLength);
    if (text !== undefined) character[field] = text;
    else if (entry[field] !== undefined && entry[field] !== '') log(`dropped invalid character ${field}`, { character: name });
  }
  const mood = cleanText(entry['mood'], maxMoodLength);
  if (mood !== undefined) character.mood = mood;

  const emotion = sanitizeEmotion(entry['emotion']);
  if (emotion !== undefined) character.emotion = emotion;
  const relationships = sanitizeRelationships(entry['relationships'], name, log);
  if (relationships !== undefined) character.relationships = relationships;
  return character;
}

/**
 * Turns whatever a model put under `characters` into at most 20 valid, distinct characters.
 * Bad entries and fields are dropped and reported, never fatal: a scene is worth keeping
 * even when its character list is poor.
 */
export function sanitizeCharacters(raw: unknown, log: SanitizeLog = () => {}): SceneCharacter[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    log('ignored characters: not a list', { type: typeof raw });
    return [];
  }
  const characters: SceneCharacter[] = [];
  const seenKeys = new Set<string>();
  let index = 0;
  for (; index < raw.length && characters.length < maxCharactersPerScene; index++) {
    const item: unknown = raw[index];
    // A bare list of names is a common, usable shortcut.
    const entry = typeof item === 'string' ? { name: item } : item;
    if (!isRecord(entry)) {
      log('ignored character entry: not an object', { index });
      continue;
    }
    const verdict = judgeName(entry['name']);
    if (!('name' in verdict)) {
      const preview = typeof entry['name'] === 'string' ? entry['name'].slice(0, 40) : undefined;
      log('ignored character entry', { index, reason: verdict.reason, name: preview });
      continue;
    }
    const key = characterNameKey(verdict.name);
    if (seenKeys.has(key)) {
      log('ignored duplicate character', { index, name: verdict.name });
      continue;
    }
    seenKeys.add(key);
    characters.push(sanitizeCharacter(entry, verdict.name, log));
  }
  if (index < raw.length) {
    log(`ignored characters beyond the limit of ${maxCharactersPerScene}`, { count: raw.length - index });
  }
  return characters;
}
