-- Characters as agents: a character's reaction to the player's choice is a memory of its own
-- kind, so that it can be weighed and shown apart from what the character chose to do.
ALTER TABLE character_memories DROP CONSTRAINT character_memories_kind_check;
ALTER TABLE character_memories ADD CONSTRAINT character_memories_kind_check
  CHECK (kind IN ('observation', 'thought', 'action', 'reaction', 'conversation', 'reflection', 'told'));

-- Retrieval takes the most recent memories of one character besides the nearest ones, and
-- the rolling summary is the newest 'summary' row of a story.
CREATE INDEX character_memories_recent ON character_memories (story_id, character_id, last_accessed_at DESC);
CREATE INDEX memories_story_kind ON memories (story_id, kind, through_scene_number);
CREATE INDEX user_instructions_story ON user_instructions (story_id, created_at);

-- `GET /api/characters/:id` names a character by id alone.
CREATE INDEX characters_id ON characters (id);
