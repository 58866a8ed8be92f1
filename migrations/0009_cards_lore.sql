-- Cards and lorebooks that act in the story (issue 14).

-- The player's name, which {{user}} and <USER> stand for in prompts; "you" reads as second person.
ALTER TABLE stories ADD COLUMN player_name text NOT NULL DEFAULT 'you'
  CHECK (length(btrim(player_name)) BETWEEN 1 AND 100);

-- World Info / character book options, with SillyTavern's meanings (see src/memory/lore-options.ts).
ALTER TABLE lore_entries
  ADD COLUMN secondary_keywords text[] NOT NULL DEFAULT '{}',
  ADD COLUMN selective_logic text NOT NULL DEFAULT 'and_any'
    CHECK (selective_logic IN ('and_any', 'not_all', 'not_any', 'and_all')),
  ADD COLUMN constant boolean NOT NULL DEFAULT false,
  ADD COLUMN insertion_order integer NOT NULL DEFAULT 100 CHECK (insertion_order BETWEEN -1000000 AND 1000000),
  ADD COLUMN position text NOT NULL DEFAULT 'before_characters'
    CHECK (position IN ('before_characters', 'after_characters', 'at_depth')),
  ADD COLUMN depth integer NOT NULL DEFAULT 4 CHECK (depth BETWEEN 0 AND 1000),
  ADD COLUMN probability integer NOT NULL DEFAULT 100 CHECK (probability BETWEEN 0 AND 100),
  ADD COLUMN case_sensitive boolean NOT NULL DEFAULT false,
  ADD COLUMN match_whole_words boolean NOT NULL DEFAULT true,
  -- NULL: the story's scan depth.
  ADD COLUMN scan_depth integer CHECK (scan_depth BETWEEN 0 AND 1000);

-- A card's art and V3 assets, byte for byte: the PNG a card came in is re-exported with new
-- text chunks and the same image data; CHARX and embedded assets come back as they went in.
CREATE TABLE character_assets (
  story_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  character_id uuid NOT NULL,
  -- 'card_image': the PNG file the card came in (its text chunks are replaced on export).
  kind text NOT NULL CHECK (length(kind) BETWEEN 1 AND 100),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 500),
  -- Where the card's assets list pointed: "embeded://assets/…", "__asset:N", or "ccdefault:".
  uri text NOT NULL CHECK (length(uri) BETWEEN 1 AND 2000),
  ext text NOT NULL DEFAULT '' CHECK (length(ext) <= 50),
  media_type text NOT NULL DEFAULT 'application/octet-stream' CHECK (length(media_type) <= 200),
  data bytea NOT NULL,
  position integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (story_id, id),
  FOREIGN KEY (story_id, character_id) REFERENCES characters (story_id, id) ON DELETE CASCADE
);
CREATE INDEX character_assets_character ON character_assets (story_id, character_id, position);
