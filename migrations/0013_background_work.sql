-- Work that should not delay the player (model-written summaries, reflections), queued by the
-- turn that makes it due and run by one worker at a time: claimed with FOR UPDATE SKIP LOCKED
-- under a lease, as turns are. One job per (story, kind, scene): enqueueing twice is one job.
CREATE TABLE background_jobs (
  story_id uuid NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  kind text NOT NULL CHECK (kind IN ('summary', 'reflection')),
  -- The scene the job was made due at: its result belongs to that scene's branch.
  scene_id uuid NOT NULL,
  payload jsonb NOT NULL DEFAULT '{}'::jsonb,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
  attempts int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts int NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
  run_after timestamptz NOT NULL DEFAULT now(),
  lease_owner text,
  -- Names one claim: only the claim that still holds the lease may complete the job.
  claim_id uuid,
  lease_expires_at timestamptz,
  last_error text CHECK (length(last_error) <= 2000),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  PRIMARY KEY (story_id, id),
  UNIQUE (story_id, kind, scene_id),
  FOREIGN KEY (story_id, scene_id) REFERENCES scenes (story_id, id) ON DELETE CASCADE,
  CHECK ((status = 'running') = (lease_expires_at IS NOT NULL AND claim_id IS NOT NULL))
);
CREATE INDEX background_jobs_ready ON background_jobs (run_after) WHERE status IN ('queued', 'running');

-- Model calls by purpose, per story. Each source (one generation of a turn, one claim of a
-- job, one talk) records its absolute count, so a resent write cannot count a call twice.
CREATE TABLE model_call_counts (
  story_id uuid NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
  source_id text NOT NULL CHECK (length(source_id) <= 200),
  purpose text NOT NULL CHECK (purpose IN ('scene', 'repair', 'summary', 'reflection', 'talk')),
  calls int NOT NULL CHECK (calls >= 0),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (story_id, source_id, purpose)
);

-- What the storyteller reported as true at a scene: added or resolved possessions, injuries,
-- promises, places and open questions. The facts at a scene are these folded along its path.
CREATE TABLE story_facts (
  story_id uuid NOT NULL,
  scene_id uuid NOT NULL,
  seq int NOT NULL CHECK (seq >= 0),
  op text NOT NULL CHECK (op IN ('add', 'resolve')),
  fact_type text NOT NULL CHECK (fact_type IN ('possession', 'injury', 'promise', 'place', 'question')),
  fact_key text NOT NULL CHECK (length(fact_key) BETWEEN 1 AND 200),
  content text NOT NULL CHECK (length(content) BETWEEN 1 AND 1000),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (story_id, scene_id, seq),
  FOREIGN KEY (story_id, scene_id) REFERENCES scenes (story_id, id) ON DELETE CASCADE
);

-- A reflection rests on memories: their ids, as the model cited them.
ALTER TABLE character_memories ADD COLUMN evidence_memory_ids uuid[] NOT NULL DEFAULT '{}';

-- Summaries belong to the scene they were made at. A summary written before this migration
-- was stored by the turn that wrote its scene, in that turn's transaction: the scene made at
-- the same moment (same transaction timestamp), or failing that the nearest in time after
-- the scenes it covers. One that matches no scene is dropped; the next turn writes another.
UPDATE memories m
   SET scene_id = (
     SELECT s.id FROM scenes s
      WHERE s.story_id = m.story_id AND s.scene_number > m.through_scene_number
      ORDER BY abs(extract(epoch FROM s.created_at - m.created_at)), s.scene_number
      LIMIT 1)
 WHERE m.kind = 'summary' AND m.scene_id IS NULL;
DELETE FROM memories WHERE kind = 'summary' AND scene_id IS NULL;
DELETE FROM memories m
 WHERE m.kind = 'summary'
   AND EXISTS (SELECT 1 FROM memories n
                WHERE n.story_id = m.story_id AND n.kind = 'summary' AND n.scene_id = m.scene_id
                  AND (n.created_at, n.id) > (m.created_at, m.id));
CREATE UNIQUE INDEX memories_one_summary_per_scene ON memories (story_id, scene_id) WHERE kind = 'summary';
