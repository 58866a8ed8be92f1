-- LivingWorld schema. Every table carries story_id and every key starts with it, so that a
-- sharded PostgreSQL (distribution column story_id) can keep a story's rows together.
-- The invariants of the design are enforced here, not only in application code.

-- Normalised name for character identity: case, inner spacing and surrounding punctuation
-- do not make a different person. Immutable so it can back a generated column.
CREATE FUNCTION lw_name_key(name text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
  SELECT lower(regexp_replace(
    regexp_replace(name, '^[[:space:][:punct:]]+|[[:space:][:punct:]]+$', '', 'g'),
    '[[:space:]]+', ' ', 'g'))
$$;

CREATE TABLE settings (
  key text PRIMARY KEY,
  value jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE stories (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  story_id uuid GENERATED ALWAYS AS (id) STORED,
  title text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
  setting text NOT NULL CHECK (length(setting) BETWEEN 1 AND 4000),
  instructions text CHECK (length(instructions) <= 4000),
  system_prompt text CHECK (length(system_prompt) <= 20000),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
  head_scene_id uuid,
  version bigint NOT NULL DEFAULT 0 CHECK (version >= 0),
  seed bigint NOT NULL DEFAULT 1,
  settings jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(settings) = 'object'),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (story_id)
);

-- The unit of generation. At most one is generating per story (partial unique index);
-- an idempotency key names at most one turn per story; a turn yields at most one scene.
CREATE TABLE turns (
  story_id uuid NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  kind text NOT NULL CHECK (kind IN ('open', 'advance', 'regenerate')),
  from_scene_id uuid,
  choice_number int CHECK (choice_number BETWEEN 1 AND 9),
  instruction text CHECK (length(instruction) <= 2000),
  request_hash text NOT NULL,
  idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 200),
  status text NOT NULL CHECK (status IN ('generating', 'succeeded', 'failed')),
  lease_owner text,
  lease_expires_at timestamptz,
  attempts int NOT NULL DEFAULT 1 CHECK (attempts >= 1),
  scene_id uuid,
  error_code text,
  error_message text,
  model_calls int NOT NULL DEFAULT 0 CHECK (model_calls >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  PRIMARY KEY (story_id, id),
  CONSTRAINT turns_idempotency_key_unique UNIQUE (story_id, idempotency_key),
  CHECK ((status = 'generating') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)),
  CHECK ((status = 'succeeded') = (scene_id IS NOT NULL)),
  CHECK ((status = 'failed') = (error_code IS NOT NULL)),
  CHECK ((kind = 'open') = (from_scene_id IS NULL) OR kind = 'regenerate'),
  CHECK ((kind = 'advance') = (choice_number IS NOT NULL) OR kind = 'regenerate')
);
CREATE UNIQUE INDEX turns_one_generating_per_story ON turns (story_id) WHERE status = 'generating';
CREATE INDEX turns_story_from_scene ON turns (story_id, from_scene_id, request_hash);

-- Scenes form a tree. The composite foreign key to the parent's (id, scene_number) together
-- with the CHECK makes scene_number equal the parent's plus one, so every path, the head
-- path included, rises by exactly one.
CREATE TABLE scenes (
  story_id uuid NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  parent_scene_id uuid,
  parent_scene_number int,
  scene_number int NOT NULL CHECK (scene_number >= 1),
  turn_id uuid,
  choice_number int CHECK (choice_number BETWEEN 1 AND 9),
  instruction text CHECK (length(instruction) <= 2000),
  content text NOT NULL CHECK (length(content) BETWEEN 1 AND 100000),
  raw_output text,
  provider text,
  model text,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (story_id, id),
  CONSTRAINT scenes_id_number_unique UNIQUE (story_id, id, scene_number),
  CONSTRAINT scenes_one_per_turn UNIQUE (story_id, turn_id),
  CONSTRAINT scenes_parent_fk FOREIGN KEY (story_id, parent_scene_id, parent_scene_number)
    REFERENCES scenes (story_id, id, scene_number) ON DELETE NO ACTION,
  CONSTRAINT scenes_turn_fk FOREIGN KEY (story_id, turn_id) REFERENCES turns (story_id, id) ON DELETE NO ACTION,
  CONSTRAINT scenes_number_follows_parent CHECK (
    (parent_scene_id IS NULL AND parent_scene_number IS NULL AND scene_number = 1)
    OR (parent_scene_id IS NOT NULL AND parent_scene_number IS NOT NULL AND scene_number = parent_scene_number + 1)
  )
);
CREATE INDEX scenes_parent ON scenes (story_id, parent_scene_id);

ALTER TABLE stories ADD CONSTRAINT stories_head_scene_fk
  FOREIGN KEY (story_id, head_scene_id) REFERENCES scenes (story_id, id) ON DELETE NO ACTION
  DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE turns ADD CONSTRAINT turns_scene_fk
  FOREIGN KEY (story_id, scene_id) REFERENCES scenes (story_id, id) ON DELETE NO ACTION
  DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE turns ADD CONSTRAINT turns_from_scene_fk
  FOREIGN KEY (story_id, from_scene_id) REFERENCES scenes (story_id, id) ON DELETE NO ACTION;

CREATE TABLE choices (
  story_id uuid NOT NULL,
  scene_id uuid NOT NULL,
  choice_number int NOT NULL CHECK (choice_number BETWEEN 1 AND 9),
  content text NOT NULL CHECK (length(content) BETWEEN 1 AND 1000),
  selected boolean NOT NULL DEFAULT false,
  PRIMARY KEY (story_id, scene_id, choice_number),
  FOREIGN KEY (story_id, scene_id) REFERENCES scenes (story_id, id) ON DELETE CASCADE
);

-- A scene is never stored without its choices: checked at commit, when both are written.
CREATE FUNCTION lw_scene_has_choices() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM choices WHERE story_id = NEW.story_id AND scene_id = NEW.id) THEN
    RAISE EXCEPTION 'scene % has no choices', NEW.id USING ERRCODE = '23514', CONSTRAINT = 'scenes_have_choices';
  END IF;
  RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER scenes_have_choices AFTER INSERT ON scenes
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION lw_scene_has_choices();

CREATE TABLE characters (
  story_id uuid NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  name_key text GENERATED ALWAYS AS (lw_name_key(name)) STORED,
  description text NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
  personality text NOT NULL DEFAULT '' CHECK (length(personality) <= 4000),
  goals text NOT NULL DEFAULT '' CHECK (length(goals) <= 4000),
  background text NOT NULL DEFAULT '' CHECK (length(background) <= 8000),
  mood text NOT NULL DEFAULT 'neutral' CHECK (length(mood) <= 100),
  emotion_valence real NOT NULL DEFAULT 0 CHECK (emotion_valence BETWEEN -1 AND 1),
  emotion_arousal real NOT NULL DEFAULT 0 CHECK (emotion_arousal BETWEEN -1 AND 1),
  emotion_dominance real NOT NULL DEFAULT 0 CHECK (emotion_dominance BETWEEN -1 AND 1),
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
  first_scene_id uuid,
  version bigint NOT NULL DEFAULT 0 CHECK (version >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (story_id, id),
  CONSTRAINT characters_name_key_not_empty CHECK (length(name_key) >= 1),
  CONSTRAINT characters_story_name_key_unique UNIQUE (story_id, name_key),
  FOREIGN KEY (story_id, first_scene_id) REFERENCES scenes (story_id, id) ON DELETE SET NULL (first_scene_id)
);

CREATE TABLE scene_characters (
  story_id uuid NOT NULL,
  scene_id uuid NOT NULL,
  character_id uuid NOT NULL,
  role text NOT NULL CHECK (role IN ('present', 'mentioned')),
  importance real NOT NULL DEFAULT 0.5 CHECK (importance BETWEEN 0 AND 1),
  PRIMARY KEY (story_id, scene_id, character_id),
  FOREIGN KEY (story_id, scene_id) REFERENCES scenes (story_id, id) ON DELETE CASCADE,
  FOREIGN KEY (story_id, character_id) REFERENCES characters (story_id, id) ON DELETE CASCADE
);
CREATE INDEX scene_characters_character ON scene_characters (story_id, character_id);

CREATE TABLE user_instructions (
  story_id uuid NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  scene_id uuid NOT NULL,
  turn_id uuid,
  content text NOT NULL CHECK (length(content) BETWEEN 1 AND 2000),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (story_id, id),
  FOREIGN KEY (story_id, scene_id) REFERENCES scenes (story_id, id) ON DELETE CASCADE
);

-- Story-wide memories: scene digests and rolling summaries.
CREATE TABLE memories (
  story_id uuid NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  kind text NOT NULL CHECK (kind IN ('scene', 'summary', 'fact')),
  scene_id uuid,
  through_scene_number int,
  content text NOT NULL CHECK (length(content) BETWEEN 1 AND 20000),
  importance real NOT NULL DEFAULT 0.5 CHECK (importance BETWEEN 0 AND 1),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (story_id, id),
  FOREIGN KEY (story_id, scene_id) REFERENCES scenes (story_id, id) ON DELETE CASCADE
);

CREATE TABLE character_memories (
  story_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  character_id uuid NOT NULL,
  scene_id uuid,
  kind text NOT NULL CHECK (kind IN ('observation', 'thought', 'action', 'conversation', 'reflection', 'told')),
  content text NOT NULL CHECK (length(content) BETWEEN 1 AND 8000),
  emotional_valence real NOT NULL DEFAULT 0 CHECK (emotional_valence BETWEEN -1 AND 1),
  importance real NOT NULL DEFAULT 0.5 CHECK (importance BETWEEN 0 AND 1),
  last_accessed_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (story_id, id),
  FOREIGN KEY (story_id, character_id) REFERENCES characters (story_id, id) ON DELETE CASCADE,
  FOREIGN KEY (story_id, scene_id) REFERENCES scenes (story_id, id) ON DELETE CASCADE
);
CREATE INDEX character_memories_character ON character_memories (story_id, character_id, created_at);

-- target_character_id NULL is the player's relationship with the character.
CREATE TABLE character_relationships (
  story_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  character_id uuid NOT NULL,
  target_character_id uuid,
  sentiment real NOT NULL DEFAULT 0 CHECK (sentiment BETWEEN -1 AND 1),
  trust real NOT NULL DEFAULT 0 CHECK (trust BETWEEN 0 AND 1),
  familiarity real NOT NULL DEFAULT 0 CHECK (familiarity BETWEEN 0 AND 1),
  type text NOT NULL DEFAULT 'acquaintance' CHECK (length(type) BETWEEN 1 AND 50),
  interaction_count int NOT NULL DEFAULT 0 CHECK (interaction_count >= 0),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (story_id, id),
  CONSTRAINT character_relationships_pair_unique UNIQUE NULLS NOT DISTINCT (story_id, character_id, target_character_id),
  CHECK (character_id IS DISTINCT FROM target_character_id),
  FOREIGN KEY (story_id, character_id) REFERENCES characters (story_id, id) ON DELETE CASCADE,
  FOREIGN KEY (story_id, target_character_id) REFERENCES characters (story_id, id) ON DELETE CASCADE
);

-- World info: facts injected into the context when their keywords appear or they are close in meaning.
CREATE TABLE lore_entries (
  story_id uuid NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  keywords text[] NOT NULL DEFAULT '{}',
  content text NOT NULL CHECK (length(content) BETWEEN 1 AND 8000),
  enabled boolean NOT NULL DEFAULT true,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  version bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (story_id, id)
);

-- Embeddings: pgvector where the server has it (HNSW indexes are created per dimension once
-- the embedder is known), a portable real[] with exact search otherwise.
DO $$
DECLARE
  column_type text;
BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
    CREATE EXTENSION IF NOT EXISTS vector;
    column_type := 'vector';
  ELSE
    column_type := 'real[]';
  END IF;
  EXECUTE format('ALTER TABLE scenes ADD COLUMN embedding %s', column_type);
  EXECUTE format('ALTER TABLE memories ADD COLUMN embedding %s', column_type);
  EXECUTE format('ALTER TABLE character_memories ADD COLUMN embedding %s', column_type);
  EXECUTE format('ALTER TABLE user_instructions ADD COLUMN embedding %s', column_type);
  EXECUTE format('ALTER TABLE lore_entries ADD COLUMN embedding %s', column_type);
  INSERT INTO settings (key, value) VALUES ('vector_backend', to_jsonb(CASE WHEN column_type = 'vector' THEN 'pgvector' ELSE 'exact' END));
END
$$;
