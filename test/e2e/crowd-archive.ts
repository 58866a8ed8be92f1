// Grows an exported story archive (`livingworld/1`) to a crowd of people who know each
// other, for looking at the relationship graph when it is full.

const names = [
  'Ysolde Marchetti-Vance', 'Bram Oakes', 'Corwin Hale', 'Dagny Strand', 'Elsbeth Morrow', 'Fenwick Ashby',
  'Greta Lindqvist', 'Hollis Crane', 'Ines Carvalho', 'Jory Penhallow', 'Kestrel Mabry', 'Lucan Teague',
  'Maud Thistlewood', 'Nico Varga', 'Oona Fairweather',
];

/** A copy of `archive` with `people` characters in all, each tied to a few others and to the player. */
export function addCrowd(archive: any, { title, people }: { title: string; people: number }): any {
  const copy = structuredClone(archive);
  copy.story.title = title;
  const now = new Date().toISOString();
  const firstScene = copy.scenes[0].id;
  const taken = new Set(copy.characters.map((c: { name: string }) => c.name.toLowerCase()));
  for (const name of names) {
    if (copy.characters.length >= people) break;
    if (taken.has(name.toLowerCase())) continue;
    copy.characters.push({
      id: `crowd-${copy.characters.length}`,
      name,
      description: `${name.split(' ')[0]} works on the quay.`,
      personality: 'watchful',
      goals: 'to keep the harbour quiet',
      background: '',
      mood: 'wary',
      emotion: { valence: 0, arousal: 0, dominance: 0 },
      metadata: {},
      first_scene_id: firstScene,
      version: 1,
      created_at: now,
      updated_at: now,
    });
  }
  const ids: string[] = copy.characters.map((c: { id: string }) => c.id);
  const exists = new Set(copy.character_relationships.map((r: any) => `${r.character_id}>${r.target_character_id}`));
  ids.forEach((from, index) => {
    for (const step of [1, 4]) {
      const to = ids[(index + step) % ids.length]!;
      if (to === from || exists.has(`${from}>${to}`)) continue;
      exists.add(`${from}>${to}`);
      copy.character_relationships.push({
        id: `tie-${from}-${to}`,
        character_id: from,
        target_character_id: to,
        // Spread over warm, neutral and cold, close and distant, so that the filter has work to do.
        sentiment: Number((((index * 7 + step * 3) % 11) / 5 - 1).toFixed(2)),
        trust: 0.4,
        familiarity: Number((((index + step) % 9) / 10 + 0.05).toFixed(2)),
        type: step === 1 ? 'neighbour' : 'rival',
        interaction_count: 2,
        updated_at: now,
      });
    }
  });
  return copy;
}
