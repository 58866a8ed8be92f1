-- Exact search on a server without pgvector (embedding columns are real[]). Scoring a row
-- with `(SELECT sum(a * b) FROM unnest(embedding, query))` runs a subquery per row; at 10k
-- memories of one character that was 250–290 ms a query (bench/results, "Memory retrieval").
-- The cube extension (contrib, trusted) computes Euclidean distance in C, and for unit
-- vectors ‖a − b‖² = 2 − 2·a·b, so ranking by distance is ranking by cosine similarity. A cube
-- holds at most 100 dimensions, so each embedding is kept beside it as cubes of 100 (a
-- generated column: every writer of `embedding` keeps it right without knowing it exists),
-- and the distance of a row is the root of the summed squared distances of its parts: one
-- expression per row, no subquery (src/memory/vector-store.ts). Where cube is not available,
-- or the role may not create it, nothing changes and the per-row subquery stays.
DO $$
BEGIN
  IF (SELECT value FROM settings WHERE key = 'vector_backend') IS DISTINCT FROM '"exact"'::jsonb
     OR NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'cube') THEN
    RETURN;
  END IF;
  BEGIN
    CREATE EXTENSION IF NOT EXISTS cube;
  EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'cube extension not created (%); exact search keeps the per-row scan', SQLERRM;
    RETURN;
  END;
  CREATE FUNCTION lw_embedding_parts(embedding real[]) RETURNS cube[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $f$
    SELECT CASE WHEN embedding IS NULL OR cardinality(embedding) = 0 THEN NULL ELSE
      ARRAY(SELECT cube(embedding[i:least(i + 99, cardinality(embedding))]::float8[])
              FROM generate_series(1, cardinality(embedding), 100) AS i ORDER BY i) END
  $f$;
  ALTER TABLE scenes ADD COLUMN embedding_parts cube[] GENERATED ALWAYS AS (lw_embedding_parts(embedding)) STORED;
  ALTER TABLE memories ADD COLUMN embedding_parts cube[] GENERATED ALWAYS AS (lw_embedding_parts(embedding)) STORED;
  ALTER TABLE character_memories ADD COLUMN embedding_parts cube[] GENERATED ALWAYS AS (lw_embedding_parts(embedding)) STORED;
  ALTER TABLE user_instructions ADD COLUMN embedding_parts cube[] GENERATED ALWAYS AS (lw_embedding_parts(embedding)) STORED;
  ALTER TABLE lore_entries ADD COLUMN embedding_parts cube[] GENERATED ALWAYS AS (lw_embedding_parts(embedding)) STORED;
  INSERT INTO settings (key, value) VALUES ('exact_search', '"cube_parts"')
  ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now();
END
$$;
