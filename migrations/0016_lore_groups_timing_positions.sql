-- World Info that acts fully: every SillyTavern position, inclusion groups, timed effects
-- (sticky, cooldown, delay) and recursion options (see src/memory/lore-options.ts).

ALTER TABLE lore_entries DROP CONSTRAINT IF EXISTS lore_entries_position_check;
ALTER TABLE lore_entries
  ADD CONSTRAINT lore_entries_position_check CHECK (position IN (
    'before_characters', 'after_characters', 'author_note_top', 'author_note_bottom',
    'at_depth', 'examples_top', 'examples_bottom')),
  -- Who speaks an entry placed at a depth (SillyTavern's role 0, 1, 2).
  ADD COLUMN depth_role text NOT NULL DEFAULT 'system' CHECK (depth_role IN ('system', 'user', 'assistant')),
  -- Inclusion groups, comma-separated; '' for none. Of a group's activated entries one is kept.
  ADD COLUMN inclusion_group text NOT NULL DEFAULT '' CHECK (length(inclusion_group) <= 500),
  ADD COLUMN group_override boolean NOT NULL DEFAULT false,
  ADD COLUMN group_weight integer NOT NULL DEFAULT 100 CHECK (group_weight BETWEEN 0 AND 1000000),
  -- NULL: the story's setting.
  ADD COLUMN use_group_scoring boolean,
  -- Timed effects, in scenes along the story's path; 0 for none.
  ADD COLUMN sticky integer NOT NULL DEFAULT 0 CHECK (sticky BETWEEN 0 AND 1000),
  ADD COLUMN cooldown integer NOT NULL DEFAULT 0 CHECK (cooldown BETWEEN 0 AND 1000),
  ADD COLUMN delay integer NOT NULL DEFAULT 0 CHECK (delay BETWEEN 0 AND 1000),
  ADD COLUMN exclude_recursion boolean NOT NULL DEFAULT false,
  ADD COLUMN prevent_recursion boolean NOT NULL DEFAULT false,
  -- 0: scanned from the first pass; N: only from recursion level N on.
  ADD COLUMN delay_until_recursion integer NOT NULL DEFAULT 0 CHECK (delay_until_recursion BETWEEN 0 AND 1000),
  ADD COLUMN ignore_budget boolean NOT NULL DEFAULT false;

-- Which lore entries a scene's prompt held: sticky and cooldown are counted from these along
-- the path to the head, so that branches, regenerations and rewinds each keep their own timing.
CREATE TABLE scene_lore_activations (
  story_id uuid NOT NULL,
  scene_id uuid NOT NULL,
  lore_entry_id uuid NOT NULL,
  PRIMARY KEY (story_id, scene_id, lore_entry_id),
  FOREIGN KEY (story_id, scene_id) REFERENCES scenes (story_id, id) ON DELETE CASCADE,
  FOREIGN KEY (story_id, lore_entry_id) REFERENCES lore_entries (story_id, id) ON DELETE CASCADE
);
CREATE INDEX scene_lore_activations_entry ON scene_lore_activations (story_id, lore_entry_id);
