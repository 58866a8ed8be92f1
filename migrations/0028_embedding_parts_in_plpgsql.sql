-- lw_embedding_parts (0014) computes the cube parts of every embedding written on a server
-- without pgvector, as a generated column. As an SQL function it was planned again in every
-- statement that wrote one (the generated column's expression is set up per statement; a
-- turn writes embeddings in about five): some 70 µs each (pg_stat_statements at 200 turns:
-- 980 plans, 0.25 ms of planning a turn). PL/pgSQL keeps its plans for the session. Same
-- parts, same NULL for a NULL or empty embedding; stored parts stay as they are.
DO $$
BEGIN
  IF (SELECT value FROM settings WHERE key = 'exact_search') IS DISTINCT FROM '"cube_parts"'::jsonb THEN
    RETURN;
  END IF;
  CREATE OR REPLACE FUNCTION lw_embedding_parts(embedding real[]) RETURNS cube[]
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
  AS $f$
  DECLARE
    n int := cardinality(embedding);
    parts cube[] := '{}';
  BEGIN
    IF n IS NULL OR n = 0 THEN
      RETURN NULL;
    END IF;
    FOR i IN 1 .. n BY 100 LOOP
      parts := parts || cube(embedding[i:least(i + 99, n)]::float8[]);
    END LOOP;
    RETURN parts;
  END
  $f$;
END
$$;
