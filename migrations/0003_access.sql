-- Access control for `livingworld serve`: users, API tokens (only their SHA-256 is kept),
-- an owner per story and members who may read or play a shared story.

CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_name_unique ON users (lower(name));

-- The built-in user that requests act as while auth is off, and the owner of stories made
-- from the command line (owner_id NULL is read as this user).
INSERT INTO users (id, name) VALUES ('00000000-0000-0000-0000-000000000001', 'local');

CREATE TABLE api_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_sha256 text NOT NULL CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
  -- The first characters of the token, so that a user can tell their tokens apart in `token list`.
  prefix text NOT NULL CHECK (length(prefix) BETWEEN 1 AND 16),
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz,
  CONSTRAINT api_tokens_sha256_unique UNIQUE (token_sha256)
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

ALTER TABLE stories ADD COLUMN owner_id uuid REFERENCES users (id) ON DELETE SET NULL;
CREATE INDEX stories_owner ON stories (owner_id);

CREATE TABLE story_members (
  story_id uuid NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role text NOT NULL CHECK (role IN ('reader', 'player')),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (story_id, user_id)
);
CREATE INDEX story_members_user ON story_members (user_id);
