-- The world follows the story tree (issue #10, DESIGN invariant 7). What changes about a
-- character as the story goes (mood, emotional state, what is known of them, relationships,
-- whether they have been met) belongs to the scene, talk or edit where it happened.
--
-- Representation, chosen by measurement (bench/world-state.ts, bench/results/README.md):
-- * world_events is the append-only record: one row per change, anchored at a scene.
-- * character_states / relationship_states are full per-scene snapshots: a turn copies its
--   parent's rows (O(characters), never O(story length)) and applies the new scene's events,
--   so reading the world at any scene is one indexed lookup on (story_id, scene_id). Folding
--   the events along the path at read time costs O(depth) per read (the bench measures it
--   next to the snapshot read: bench/world-state.ts), which the head read must not.
-- * scenes.state_through_seq: the last event of the parent folded into the child's starting
--   snapshot. A talk or edit made at a scene after it already had children belongs to the
--   branch that continues from it afterwards, not to the children made earlier.
--
-- The characters table keeps identity (name, name_key) and the values a character was
-- created with (by a scene, a card or an import): the starting point when a branch meets it.

CREATE TABLE world_events (
  story_id uuid NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  scene_id uuid NOT NULL,
  source text NOT NULL CHECK (source IN ('scene', 'talk', 'edit', 'seed')),
  character_id uuid NOT NULL,
  -- Relationship events: the other character, NULL for the player.
  target_character_id uuid,
  op text NOT NULL CHECK (op IN ('meet', 'update', 'relationship', 'relationship_set')),
  payload jsonb NOT NULL CHECK (jsonb_typeof(payload) = 'object'),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (story_id, seq),
  FOREIGN KEY (story_id, scene_id) REFERENCES scenes (story_id, id) ON DELETE CASCADE,
  FOREIGN KEY (story_id, character_id) REFERENCES characters (story_id, id) ON DELETE CASCADE,
  FOREIGN KEY (story_id, target_character_id) REFERENCES characters (story_id, id) ON DELETE CASCADE
);
CREATE INDEX world_events_scene ON world_events (story_id, scene_id, seq);

CREATE TABLE character_states (
  story_id uuid NOT NULL,
  scene_id uuid NOT NULL,
  character_id uuid NOT NULL,
  description text NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
  personality text NOT NULL DEFAULT '' CHECK (length(personality) <= 4000),
  goals text NOT NULL DEFAULT '' CHECK (length(goals) <= 4000),
  background text NOT NULL DEFAULT '' CHECK (length(background) <= 8000),
  mood text NOT NULL DEFAULT 'neutral' CHECK (length(mood) <= 100),
  emotion_valence real NOT NULL DEFAULT 0 CHECK (emotion_valence BETWEEN -1 AND 1),
  emotion_arousal real NOT NULL DEFAULT 0 CHECK (emotion_arousal BETWEEN -1 AND 1),
  emotion_dominance real NOT NULL DEFAULT 0 CHECK (emotion_dominance BETWEEN -1 AND 1),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (story_id, scene_id, character_id),
  FOREIGN KEY (story_id, scene_id) REFERENCES scenes (story_id, id) ON DELETE CASCADE,
  FOREIGN KEY (story_id, character_id) REFERENCES characters (story_id, id) ON DELETE CASCADE
);

-- target_character_id NULL is the relationship with the player.
CREATE TABLE relationship_states (
  story_id uuid NOT NULL,
  scene_id uuid NOT NULL,
  character_id uuid NOT NULL,
  target_character_id uuid,
  sentiment real NOT NULL DEFAULT 0 CHECK (sentiment BETWEEN -1 AND 1),
  trust real NOT NULL DEFAULT 0 CHECK (trust BETWEEN 0 AND 1),
  familiarity real NOT NULL DEFAULT 0 CHECK (familiarity BETWEEN 0 AND 1),
  type text NOT NULL DEFAULT 'acquaintance' CHECK (length(type) BETWEEN 1 AND 50),
  interaction_count int NOT NULL DEFAULT 0 CHECK (interaction_count >= 0),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT relationship_states_pair_unique UNIQUE NULLS NOT DISTINCT (story_id, scene_id, character_id, target_character_id),
  CHECK (character_id IS DISTINCT FROM target_character_id),
  FOREIGN KEY (story_id, scene_id) REFERENCES scenes (story_id, id) ON DELETE CASCADE,
  FOREIGN KEY (story_id, character_id) REFERENCES characters (story_id, id) ON DELETE CASCADE,
  FOREIGN KEY (story_id, target_character_id) REFERENCES characters (story_id, id) ON DELETE CASCADE
);

ALTER TABLE scenes ADD COLUMN state_through_seq bigint NOT NULL DEFAULT 0;

-- Builds the per-scene world of a story whose characters carry single current values (every
-- story before this migration, and archives exported before it): at each scene, the
-- characters met on its path (linked to a scene of it, or first seen in one) with today's
-- values, and their relationships. Nothing is lost: the head shows exactly today's values.
-- Characters never linked to any scene (cards, imports) are known everywhere and read their
-- own row, so they need no snapshot. Idempotent for a story without world events.
CREATE FUNCTION lw_seed_world_states(p_story_id uuid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  world uuid[];
BEGIN
  IF EXISTS (SELECT 1 FROM world_events WHERE story_id = p_story_id) THEN
    RETURN;
  END IF;
  -- Characters no scene ever named: known everywhere, their relationships too.
  world := ARRAY(SELECT c.id FROM characters c WHERE c.story_id = p_story_id AND c.first_scene_id IS NULL
    AND NOT EXISTS (SELECT 1 FROM scene_characters l WHERE l.story_id = p_story_id AND l.character_id = c.id));
  CREATE TEMP TABLE lw_known ON COMMIT DROP AS
  WITH RECURSIVE
    met AS (
      SELECT scene_id, character_id FROM scene_characters WHERE story_id = p_story_id
      UNION
      SELECT first_scene_id, id FROM characters WHERE story_id = p_story_id AND first_scene_id IS NOT NULL
    ),
    walk AS (
      SELECT s.id, s.parent_scene_id,
             ARRAY(SELECT m.character_id FROM met m WHERE m.scene_id = s.id ORDER BY 1) AS known,
             '{}'::uuid[] AS parent_known, true AS is_root
        FROM scenes s WHERE s.story_id = p_story_id AND s.parent_scene_id IS NULL
      UNION ALL
      SELECT s.id, s.parent_scene_id,
             ARRAY(SELECT DISTINCT k FROM unnest(w.known || ARRAY(SELECT m.character_id FROM met m WHERE m.scene_id = s.id)) k ORDER BY 1),
             w.known, false
        FROM scenes s JOIN walk w ON s.story_id = p_story_id AND s.parent_scene_id = w.id
    )
  SELECT id AS scene_id, known, parent_known, is_root FROM walk;

  -- Events first (a meet where a character enters a path, a relationship where both ends are
  -- known), so that the fold of every path reproduces the snapshots written below.
  INSERT INTO world_events (story_id, scene_id, source, character_id, op, payload)
  SELECT p_story_id, k.scene_id, 'seed', c.id, 'meet',
         jsonb_build_object('description', c.description, 'personality', c.personality, 'goals', c.goals,
           'background', c.background, 'mood', c.mood, 'valence', c.emotion_valence, 'arousal', c.emotion_arousal,
           'dominance', c.emotion_dominance)
    FROM lw_known k JOIN characters c ON c.story_id = p_story_id AND c.id = ANY(k.known) AND NOT c.id = ANY(k.parent_known)
   ORDER BY k.scene_id, c.id;

  INSERT INTO world_events (story_id, scene_id, source, character_id, target_character_id, op, payload)
  SELECT p_story_id, k.scene_id, 'seed', r.character_id, r.target_character_id, 'relationship_set',
         jsonb_build_object('sentiment', r.sentiment, 'trust', r.trust, 'familiarity', r.familiarity, 'type', r.type,
           'interactionCount', r.interaction_count)
    FROM lw_known k
    JOIN character_relationships r ON r.story_id = p_story_id
     AND r.character_id = ANY(k.known || world)
     AND (r.target_character_id IS NULL OR r.target_character_id = ANY(k.known || world))
   WHERE k.is_root OR NOT (r.character_id = ANY(k.parent_known || world)
              AND (r.target_character_id IS NULL OR r.target_character_id = ANY(k.parent_known || world)))
   ORDER BY k.scene_id, r.character_id, r.target_character_id;

  INSERT INTO character_states (story_id, scene_id, character_id, description, personality, goals, background, mood,
                                emotion_valence, emotion_arousal, emotion_dominance)
  SELECT p_story_id, k.scene_id, c.id, c.description, c.personality, c.goals, c.background, c.mood,
         c.emotion_valence, c.emotion_arousal, c.emotion_dominance
    FROM lw_known k JOIN characters c ON c.story_id = p_story_id AND c.id = ANY(k.known);

  -- updated_at comes along too: the seeded state is the relationship as it last changed, not now.
  INSERT INTO relationship_states (story_id, scene_id, character_id, target_character_id, sentiment, trust, familiarity, type, interaction_count, updated_at)
  SELECT p_story_id, k.scene_id, r.character_id, r.target_character_id, r.sentiment, r.trust, r.familiarity, r.type, r.interaction_count, r.updated_at
    FROM lw_known k
    JOIN character_relationships r ON r.story_id = p_story_id
     AND r.character_id = ANY(k.known || world)
     AND (r.target_character_id IS NULL OR r.target_character_id = ANY(k.known || world));

  UPDATE scenes c SET state_through_seq = COALESCE(
      (SELECT max(e.seq) FROM world_events e WHERE e.story_id = p_story_id AND e.scene_id = c.parent_scene_id), 0)
   WHERE c.story_id = p_story_id AND c.parent_scene_id IS NOT NULL;
  DROP TABLE lw_known;
END
$$;

DO $$
DECLARE
  s record;
BEGIN
  FOR s IN SELECT id FROM stories LOOP
    PERFORM lw_seed_world_states(s.id);
  END LOOP;
END
$$;
