/** Longest name the characters table accepts (its CHECK). */
export const maxCharacterNameLength = 100;

// Words a model uses for someone it has not named. The scene parser filters these already;
// this second, cheap check keeps the database write safe whatever reaches it.
const notNames = new Set([
  'he', 'she', 'they', 'them', 'him', 'her', 'it', 'you', 'i', 'me', 'we', 'us', 'someone', 'somebody',
  'everyone', 'nobody', 'no one', 'narrator', 'the narrator', 'player', 'the player', 'user', 'unknown',
]);

/**
 * The name as it will be displayed (surrounding space and punctuation trimmed, inner space
 * collapsed), or a reason it is not a usable character name.
 */
export function cleanCharacterName(raw: unknown): { name: string } | { reason: string } {
  if (typeof raw !== 'string') return { reason: 'name is not a string' };
  // Checked before any regex work so that a 100 KB name costs nothing.
  if (raw.length > maxCharacterNameLength * 2) return { reason: 'name too long' };
  const name = raw.replace(/^[\s\p{P}\p{S}]+|[\s\p{P}\p{S}]+$/gu, '').replace(/\s+/g, ' ');
  if (name.length === 0) return { reason: 'empty name' };
  if (name.length > maxCharacterNameLength) return { reason: 'name too long' };
  if (!/\p{L}/u.test(name)) return { reason: 'name has no letters' };
  if (notNames.has(name.toLowerCase())) return { reason: 'pronoun or generic reference' };
  return { name };
}

/** Mirrors `lw_name_key` in migrations/0001_init.sql, for grouping names before they reach the database. */
export function characterNameKey(name: string): string {
  return name
    .replace(/^[\s\p{P}\p{S}]+|[\s\p{P}\p{S}]+$/gu, '')
    .replace(/\s+/g, ' ')
    .toLowerCase();
}
