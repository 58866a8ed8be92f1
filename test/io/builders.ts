import type { Queryable } from '../../src/db/index.js';

export interface BranchingStory {
  storyId: string;
  /** root → s2 (choice 1, selected) → s3 (choice 2, head) ; s2b regenerated sibling of s2. */
  scenes: { root: string; second: string; regenerated: string; head: string };
  characters: { hanna: string; piet: string };
}

async function one<T>(db: Queryable, sql: string, params: unknown[]): Promise<T> {
  const { rows } = await db.query<T>(sql, params);
  return rows[0]!;
}

async function scene(
  db: Queryable,
  storyId: string,
  parent: { id: string; number: number } | null,
  fields: { choiceNumber?: number; content: string; createdAt: string; choices: [string, boolean][]; instruction?: string },
): Promise<string> {
  // Scene and choices in one statement: the schema checks at the end of it that a scene has choices.
  const { id } = await one<{ id: string }>(
    db,
    `WITH inserted AS (
       INSERT INTO scenes (story_id, parent_scene_id, parent_scene_number, scene_number, choice_number, instruction, content,
         raw_output, provider, model, metadata, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'offline', 'procedural-1', $9, $10) RETURNING id
     ), choice AS (
       INSERT INTO choices (story_id, scene_id, choice_number, content, selected)
       SELECT $1, inserted.id, c.ordinality, c.value->>0, (c.value->>1)::boolean
       FROM inserted, jsonb_array_elements($11::jsonb) WITH ORDINALITY AS c(value, ordinality)
     )
     SELECT id FROM inserted`,
    [
      storyId,
      parent?.id ?? null,
      parent?.number ?? null,
      (parent?.number ?? 0) + 1,
      fields.choiceNumber ?? null,
      fields.instruction ?? null,
      fields.content,
      `${fields.content}\n\n${fields.choices.map(([c], i) => `${i + 1}. ${c}`).join('\n')}`,
      JSON.stringify({ tokens: fields.content.length, tags: ['built'] }),
      fields.createdAt,
      JSON.stringify(fields.choices),
    ],
  );
  return id;
}

/**
 * A story with a branch (a regenerated sibling), markup and awkward characters in the prose,
 * characters with memories and relationships, instructions and lore: every table has rows.
 */
export async function insertBranchingStory(db: Queryable, title = 'Salt and Lanterns'): Promise<BranchingStory> {
  const { id: storyId } = await one<{ id: string }>(
    db,
    `INSERT INTO stories (title, setting, instructions, system_prompt, status, seed, settings, created_at, updated_at)
     VALUES ($1, 'A fishing village in fog', 'Keep it <b>eerie</b>', 'You are a narrator.', 'active', 9007199254740993,
       '{"temperature": 0.8, "thoughts": true}', '2026-01-01T10:00:00Z', '2026-01-01T10:30:00Z') RETURNING id`,
    [title],
  );
  const root = await scene(db, storyId, null, {
    content: 'Fog rolls in over the breakwater. "You\'re late," says Hanna Roos.\n\nA [[link]] and ::colons and <script>x</script>.',
    createdAt: '2026-01-01T10:01:00.123456Z',
    choices: [
      ['Ask Hanna who "the others" were', true],
      ['Tie up the boat [carefully]', false],
      ['Walk to the end of the breakwater', false],
    ],
  });
  const second = await scene(db, storyId, { id: root, number: 1 }, {
    choiceNumber: 1,
    instruction: 'ask her name',
    content: 'Hanna lowers the lantern. "Three boats." Piet Sand went out on Tuesday.',
    createdAt: '2026-01-01T10:02:00Z',
    choices: [
      ['Offer to search for Piet', false],
      ['Ask the boy what he knows', true],
    ],
  });
  const regenerated = await scene(db, storyId, { id: root, number: 1 }, {
    choiceNumber: 1,
    content: 'Hanna says nothing and turns away.',
    createdAt: '2026-01-01T10:03:00Z',
    choices: [['Follow her', false]],
  });
  const head = await scene(db, storyId, { id: second, number: 2 }, {
    choiceNumber: 2,
    content: 'The boy shrugs. "Piet talks to the fog," he says.\n:: not a passage header',
    createdAt: '2026-01-01T10:04:00Z',
    choices: [
      ['Laugh it off', false],
      ['Ask what the fog says', false],
      ['Go to the tavern', false],
    ],
  });
  await db.query('UPDATE stories SET head_scene_id = $2 WHERE id = $1', [storyId, head]);

  await db.query(`INSERT INTO user_instructions (story_id, scene_id, content, created_at) VALUES ($1, $2, 'ask her name', '2026-01-01T10:02:00Z')`, [
    storyId,
    second,
  ]);

  const hanna = (
    await one<{ id: string }>(
      db,
      `INSERT INTO characters (story_id, name, description, personality, goals, background, mood, emotion_valence, emotion_arousal,
         emotion_dominance, metadata, first_scene_id, version, created_at, updated_at)
       VALUES ($1, 'Hanna Roos', 'Harbourmaster of Vell', 'Brusque, watchful', 'Find the boats', 'Born in Vell', 'worried',
         -0.3, 0.6, 0.25, '{"thoughts": ["They are not coming back."]}', $2, 3, '2026-01-01T10:01:00Z', '2026-01-01T10:04:00Z')
       RETURNING id`,
      [storyId, root],
    )
  ).id;
  const piet = (
    await one<{ id: string }>(
      db,
      `INSERT INTO characters (story_id, name, description, first_scene_id, created_at, updated_at)
       VALUES ($1, 'Piet Sand', 'An old fisherman', $2, '2026-01-01T10:02:00Z', '2026-01-01T10:02:00Z') RETURNING id`,
      [storyId, second],
    )
  ).id;
  await db.query(
    `INSERT INTO scene_characters (story_id, scene_id, character_id, role, importance) VALUES
       ($1, $2, $4, 'present', 0.9), ($1, $3, $4, 'present', 0.7), ($1, $3, $5, 'mentioned', 0.3)`,
    [storyId, root, second, hanna, piet],
  );
  await db.query(
    `INSERT INTO memories (story_id, kind, scene_id, through_scene_number, content, importance, created_at) VALUES
       ($1, 'scene', $2, NULL, 'The traveller arrived late in the fog.', 0.4, '2026-01-01T10:01:30Z'),
       ($1, 'summary', NULL, 2, 'Three boats are missing.', 0.8, '2026-01-01T10:02:30Z')`,
    [storyId, root],
  );
  await db.query(
    `INSERT INTO character_memories (story_id, character_id, scene_id, kind, content, emotional_valence, importance, last_accessed_at, created_at) VALUES
       ($1, $2, $3, 'observation', 'A stranger came off the boat.', -0.1, 0.5, '2026-01-01T10:05:00Z', '2026-01-01T10:01:00Z'),
       ($1, $2, NULL, 'reflection', 'I should not trust the fog.', -0.6, 0.9, '2026-01-01T10:06:00Z', '2026-01-01T10:02:00Z'),
       ($1, $4, $5, 'thought', 'Where are the boats?', -0.2, 0.123456, '2026-01-01T10:02:00Z', '2026-01-01T10:02:00Z')`,
    [storyId, hanna, root, piet, second],
  );
  await db.query(
    `INSERT INTO character_relationships (story_id, character_id, target_character_id, sentiment, trust, familiarity, type, interaction_count, updated_at) VALUES
       ($1, $2, $3, 0.5, 0.7, 0.9, 'old friend', 12, '2026-01-01T10:02:00Z'),
       ($1, $2, NULL, -0.2, 0.1, 0.2, 'stranger', 1, '2026-01-01T10:03:00Z')`,
    [storyId, hanna, piet],
  );
  await db.query(
    `INSERT INTO lore_entries (story_id, title, keywords, content, enabled, metadata, version, created_at, updated_at) VALUES
       ($1, 'Vell', ARRAY['Vell', 'harbour'], 'A fishing village on a foggy coast.', true, '{"source": "test"}', 2, '2026-01-01T10:00:00Z', '2026-01-01T10:00:00Z'),
       ($1, 'The fog', '{}', 'It speaks, some say.', false, '{}', 0, '2026-01-01T10:00:01Z', '2026-01-01T10:00:01Z')`,
    [storyId],
  );
  // Rows written the way stories stood before the world tree: build each scene's world from them as migration 0006 does.
  await db.query('SELECT lw_seed_world_states($1)', [storyId]);
  return { storyId, scenes: { root, second, regenerated, head }, characters: { hanna, piet } };
}

/** Rows per table, to prove that a refused import wrote nothing. */
export async function countRows(db: Queryable): Promise<Record<string, number>> {
  const tables = [
    'stories',
    'scenes',
    'choices',
    'user_instructions',
    'characters',
    'scene_characters',
    'memories',
    'character_memories',
    'character_relationships',
    'character_states',
    'relationship_states',
    'world_events',
    'lore_entries',
    'story_facts',
    'turns',
  ];
  const { rows } = await db.query<Record<string, string>>(`SELECT ${tables.map((t) => `(SELECT count(*) FROM ${t})::text AS ${t}`).join(', ')}`);
  return Object.fromEntries(Object.entries(rows[0]!).map(([k, v]) => [k, Number(v)]));
}
