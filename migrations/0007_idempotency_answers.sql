-- Every write route takes an Idempotency-Key. The key, the hash of the request it came with
-- and the answer are written in the same transaction as the write itself, so a retry after a
-- lost COMMIT reply finds either nothing (the write did not happen) or the answer (it did).
-- Keys belong to whoever sent them (a user, or the local CLI), not to a story: a new story
-- or an import has no story yet when its key is checked. Rows older than the documented
-- lifetime (24 h, src/idempotency/idempotency-repo.ts) are ignored and swept by the server.
CREATE TABLE idempotency_keys (
  scope text NOT NULL CHECK (length(scope) BETWEEN 1 AND 200),
  idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
  request_hash text NOT NULL,
  answer jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT idempotency_keys_pkey PRIMARY KEY (scope, idempotency_key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- The claim names itself before it is sent: after a lost COMMIT reply, the process asks
-- whether a turn carries its claim id and releases it at once instead of leaving it leased.
ALTER TABLE turns ADD COLUMN claim_id uuid;
CREATE INDEX turns_claim_id ON turns (story_id, claim_id) WHERE claim_id IS NOT NULL;

-- Waiters on a turn, on any process: a generation is cancelled only when none is left.
CREATE TABLE turn_waiters (
  story_id uuid NOT NULL,
  turn_id uuid NOT NULL,
  waiter_id uuid NOT NULL,
  seen_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  CONSTRAINT turn_waiters_pkey PRIMARY KEY (story_id, turn_id, waiter_id),
  FOREIGN KEY (story_id, turn_id) REFERENCES turns (story_id, id) ON DELETE CASCADE
);
