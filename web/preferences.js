// The reader's own preferences, kept in this browser: they change how the story is shown,
// never the story itself.

const key = 'livingworld.preferences';

/** Words a second at which a streamed scene reaches the page; 0 is as fast as it is written. */
export const paces = [
  { value: 0, label: 'As fast as it is written' },
  { value: 60, label: 'Fast (60 words a second)' },
  { value: 20, label: 'Reading pace (20 words a second)' },
  { value: 8, label: 'Slow (8 words a second)' },
];

const defaults = { thoughts: false, pace: 20, playerName: '' };

export function loadPreferences() {
  try {
    const stored = JSON.parse(localStorage.getItem(key) ?? '{}');
    return {
      thoughts: typeof stored.thoughts === 'boolean' ? stored.thoughts : defaults.thoughts,
      pace: paces.some((p) => p.value === stored.pace) ? stored.pace : defaults.pace,
      playerName: typeof stored.playerName === 'string' ? stored.playerName.slice(0, 100) : defaults.playerName,
    };
  } catch {
    return { ...defaults };
  }
}

export function savePreferences(preferences) {
  localStorage.setItem(key, JSON.stringify(preferences));
}
