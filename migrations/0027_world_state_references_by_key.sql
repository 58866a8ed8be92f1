-- The reference checks of 0026 probed each inserted row's scene and characters on their own.
-- A turn's copy of its parent's world inserts many rows that share one scene and a few
-- characters (22 relationship rows naming one scene and six characters: 66 probes for 7 keys),
-- so each distinct key is now probed once. The guarantees and the errors are those of 0026;
-- the offending row is looked up only when a key is missing.
CREATE OR REPLACE FUNCTION lw_check_character_state_references() RETURNS trigger LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
  bad record;
BEGIN
  SELECT a.story_id, a.scene_id, a.character_id INTO bad FROM added a
   WHERE (a.story_id, a.scene_id) IN (
           SELECT k.story_id, k.scene_id FROM (SELECT DISTINCT story_id, scene_id FROM added) k
             LEFT JOIN LATERAL (SELECT true AS found FROM scenes s WHERE s.story_id = k.story_id AND s.id = k.scene_id LIMIT 1) scene ON true
            WHERE scene.found IS NULL)
      OR (a.story_id, a.character_id) IN (
           SELECT k.story_id, k.character_id FROM (SELECT DISTINCT story_id, character_id FROM added) k
             LEFT JOIN LATERAL (SELECT true AS found FROM characters c WHERE c.story_id = k.story_id AND c.id = k.character_id LIMIT 1) who ON true
            WHERE who.found IS NULL)
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'character state of character % at scene % names no scene or character of story %', bad.character_id, bad.scene_id, bad.story_id
      USING ERRCODE = 'foreign_key_violation', TABLE = 'character_states';
  END IF;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION lw_check_relationship_state_references() RETURNS trigger LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
  bad record;
BEGIN
  WITH missing AS (
    SELECT k.story_id, k.id FROM (SELECT story_id, character_id AS id FROM added
                                   UNION SELECT story_id, target_character_id FROM added WHERE target_character_id IS NOT NULL) k
      LEFT JOIN LATERAL (SELECT true AS found FROM characters c WHERE c.story_id = k.story_id AND c.id = k.id LIMIT 1) who ON true
     WHERE who.found IS NULL)
  SELECT a.story_id, a.scene_id, a.character_id, a.target_character_id INTO bad FROM added a
   WHERE (a.story_id, a.scene_id) IN (
           SELECT k.story_id, k.scene_id FROM (SELECT DISTINCT story_id, scene_id FROM added) k
             LEFT JOIN LATERAL (SELECT true AS found FROM scenes s WHERE s.story_id = k.story_id AND s.id = k.scene_id LIMIT 1) scene ON true
            WHERE scene.found IS NULL)
      OR (a.story_id, a.character_id) IN (SELECT story_id, id FROM missing)
      OR (a.story_id, a.target_character_id) IN (SELECT story_id, id FROM missing)
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'relationship state of character % with % at scene % names no scene or character of story %',
      bad.character_id, coalesce(bad.target_character_id::text, 'the player'), bad.scene_id, bad.story_id
      USING ERRCODE = 'foreign_key_violation', TABLE = 'relationship_states';
  END IF;
  RETURN NULL;
END
$$;
