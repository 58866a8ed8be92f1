-- The cube parts of 0014 were no faster than the per-row scan at 256 dimensions
-- (bench/results, "Memory retrieval"). Cube keeps float8, 8 bytes a dimension, so from about 200
-- dimensions the parts made a row longer than the 2 KB at which PostgreSQL compresses or moves
-- values out of line; the float8s made from float4s compress, so the array was stored
-- compressed, and every `embedding_parts[i]` in the ranking expression decompressed (or fetched
-- from the TOAST table) the whole array again: n parts, n decompressions a row.
-- Two changes: the ranking reads the array once a row (src/memory/vector-store.ts), and the
-- array stays in the row uncompressed while the row fits in a page: storage MAIN (compressed or
-- moved out only as a last resort, with lz4 where the server has it: it decompresses several
-- times faster than pglz) and toast_tuple_target 8160, so that the toaster moves the real[]
-- embedding and long text out of the row first. Up to about 900 dimensions the parts stay in
-- the row as they are; beyond, they are compressed, then moved out, and read once a row.
DO $$
DECLARE
  t text;
BEGIN
  IF (SELECT value FROM settings WHERE key = 'exact_search') IS DISTINCT FROM '"cube_parts"'::jsonb THEN
    RETURN;
  END IF;
  FOREACH t IN ARRAY ARRAY['scenes', 'memories', 'character_memories', 'user_instructions', 'lore_entries'] LOOP
    EXECUTE format('ALTER TABLE %I SET (toast_tuple_target = 8160), ALTER COLUMN embedding_parts SET STORAGE MAIN', t);
    BEGIN
      EXECUTE format('ALTER TABLE %I ALTER COLUMN embedding_parts SET COMPRESSION lz4', t);
    EXCEPTION WHEN feature_not_supported THEN
      NULL; -- built without lz4: the default method, only for parts too long for the row anyway
    END;
    -- Storage settings apply to rows written from now on; rewriting each stored embedding
    -- recomputes its parts and stores them the new way.
    EXECUTE format('UPDATE %I SET embedding = embedding WHERE embedding IS NOT NULL', t);
  END LOOP;
END
$$;
