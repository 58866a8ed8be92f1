-- Every turn copies its parent scene's world (character_states and relationship_states, one
-- row per character and per relationship met) to the new scene. Their foreign keys checked
-- each copied row on its own: two or three index probes and row locks (FOR KEY SHARE on the
-- scene and on each character, every lock a write) per row, run one by one through the
-- trigger machinery. On PGlite that was three quarters of the copy (bench/results, "Engine
-- overhead per turn"; the copy took 5.0 ms of a turn with the keys and 1.3 ms without).
--
-- The same guarantees, checked once per statement over all of its rows:
-- - a state row names a scene and characters of its own story, or the statement that writes it
--   fails (23503, as the foreign keys did);
-- - the scene, character and target of a state row never change (states are updated in place,
--   never moved);
-- - deleting a scene or a character deletes its states (scenes and characters go only with
--   their story, whose deletion cascades to both).
-- What the keys' row locks added, keeping a referenced scene or character from being deleted
-- while a state row is written, the story row lock already gives: every writer of the world
-- holds it (a turn's commit FOR NO KEY UPDATE, a talk or an edit FOR SHARE), and deleting the
-- story takes it FOR UPDATE.
DO $$
DECLARE
  fk record;
BEGIN
  FOR fk IN
    SELECT conrelid::regclass AS table_name, conname FROM pg_constraint
     WHERE contype = 'f' AND conrelid IN ('character_states'::regclass, 'relationship_states'::regclass)
  LOOP
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.table_name, fk.conname);
  END LOOP;
END
$$;

-- Each row's scene and characters are probed by their keys, as the foreign keys did: a sequential
-- or hashed scan of scenes or characters would read every story's rows, and under SERIALIZABLE
-- would lock whole tables against every other writer (SIRead on the relation), so the checks are
-- planned without sequential scans (a setting of the function only).
CREATE FUNCTION lw_check_character_state_references() RETURNS trigger LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
  bad record;
BEGIN
  SELECT a.story_id, a.scene_id, a.character_id INTO bad FROM added a
    LEFT JOIN LATERAL (SELECT true AS found FROM scenes s WHERE s.story_id = a.story_id AND s.id = a.scene_id LIMIT 1) scene ON true
    LEFT JOIN LATERAL (SELECT true AS found FROM characters c WHERE c.story_id = a.story_id AND c.id = a.character_id LIMIT 1) who ON true
   WHERE scene.found IS NULL OR who.found IS NULL
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'character state of character % at scene % names no scene or character of story %', bad.character_id, bad.scene_id, bad.story_id
      USING ERRCODE = 'foreign_key_violation', TABLE = 'character_states';
  END IF;
  RETURN NULL;
END
$$;

CREATE FUNCTION lw_check_relationship_state_references() RETURNS trigger LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
  bad record;
BEGIN
  SELECT a.story_id, a.scene_id, a.character_id, a.target_character_id INTO bad FROM added a
    LEFT JOIN LATERAL (SELECT true AS found FROM scenes s WHERE s.story_id = a.story_id AND s.id = a.scene_id LIMIT 1) scene ON true
    LEFT JOIN LATERAL (SELECT true AS found FROM characters c WHERE c.story_id = a.story_id AND c.id = a.character_id LIMIT 1) who ON true
    LEFT JOIN LATERAL (SELECT true AS found FROM characters c WHERE c.story_id = a.story_id AND c.id = a.target_character_id LIMIT 1) target ON true
   WHERE scene.found IS NULL OR who.found IS NULL OR (a.target_character_id IS NOT NULL AND target.found IS NULL)
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'relationship state of character % with % at scene % names no scene or character of story %',
      bad.character_id, coalesce(bad.target_character_id::text, 'the player'), bad.scene_id, bad.story_id
      USING ERRCODE = 'foreign_key_violation', TABLE = 'relationship_states';
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER character_states_references AFTER INSERT ON character_states
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION lw_check_character_state_references();
CREATE TRIGGER relationship_states_references AFTER INSERT ON relationship_states
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION lw_check_relationship_state_references();

CREATE FUNCTION lw_refuse_world_state_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'a % row keeps its story, scene and characters; write a new row instead', TG_TABLE_NAME
    USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME;
END
$$;

-- Only an UPDATE that names a key column can move a row; the snapshot's own updates never do.
CREATE TRIGGER character_states_keys_fixed BEFORE UPDATE OF story_id, scene_id, character_id ON character_states
  FOR EACH ROW WHEN (OLD.story_id IS DISTINCT FROM NEW.story_id OR OLD.scene_id IS DISTINCT FROM NEW.scene_id
                     OR OLD.character_id IS DISTINCT FROM NEW.character_id)
  EXECUTE FUNCTION lw_refuse_world_state_move();
CREATE TRIGGER relationship_states_keys_fixed BEFORE UPDATE OF story_id, scene_id, character_id, target_character_id ON relationship_states
  FOR EACH ROW WHEN (OLD.story_id IS DISTINCT FROM NEW.story_id OR OLD.scene_id IS DISTINCT FROM NEW.scene_id
                     OR OLD.character_id IS DISTINCT FROM NEW.character_id OR OLD.target_character_id IS DISTINCT FROM NEW.target_character_id)
  EXECUTE FUNCTION lw_refuse_world_state_move();

CREATE FUNCTION lw_forget_world_state_of_scenes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM character_states st USING gone g WHERE st.story_id = g.story_id AND st.scene_id = g.id;
  DELETE FROM relationship_states r USING gone g WHERE r.story_id = g.story_id AND r.scene_id = g.id;
  RETURN NULL;
END
$$;

CREATE FUNCTION lw_forget_world_state_of_characters() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM character_states st USING gone g WHERE st.story_id = g.story_id AND st.character_id = g.id;
  DELETE FROM relationship_states r USING gone g
   WHERE r.story_id = g.story_id AND (r.character_id = g.id OR r.target_character_id = g.id);
  RETURN NULL;
END
$$;

CREATE TRIGGER scenes_forget_world_state AFTER DELETE ON scenes
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION lw_forget_world_state_of_scenes();
CREATE TRIGGER characters_forget_world_state AFTER DELETE ON characters
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION lw_forget_world_state_of_characters();
