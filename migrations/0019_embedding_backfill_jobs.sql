-- Rows stored without an embedding (the embedder was unreachable when a turn wrote them, or a
-- story archive was imported) are embedded later by a background job of their story.
ALTER TABLE background_jobs
  DROP CONSTRAINT background_jobs_kind_check,
  ADD CONSTRAINT background_jobs_kind_check CHECK (kind IN ('summary', 'reflection', 'embedding'));
