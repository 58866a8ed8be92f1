-- An idempotency key names the turn whose scene answers it. A keyed request may be answered
-- by a turn it did not start (it joined an identical turn in flight, or arrived as a late
-- duplicate), so keys live in their own table, several keys to a turn, one turn to a key.
CREATE TABLE turn_idempotency_keys (
  story_id uuid NOT NULL,
  idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
  turn_id uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT turn_idempotency_keys_pkey PRIMARY KEY (story_id, idempotency_key),
  FOREIGN KEY (story_id, turn_id) REFERENCES turns (story_id, id) ON DELETE CASCADE
);
CREATE INDEX turn_idempotency_keys_turn ON turn_idempotency_keys (story_id, turn_id);

INSERT INTO turn_idempotency_keys (story_id, idempotency_key, turn_id)
SELECT story_id, idempotency_key, id FROM turns WHERE idempotency_key IS NOT NULL;

ALTER TABLE turns DROP COLUMN idempotency_key;
