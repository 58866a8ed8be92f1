-- What each model server turned out to support, per endpoint and model, so that a server that
-- rejects JSON schemas costs one failed call once, not once per turn and process.
CREATE TABLE model_capabilities (
  endpoint text NOT NULL CHECK (length(endpoint) <= 500),
  model text NOT NULL CHECK (length(model) <= 300),
  structured_output text NOT NULL CHECK (structured_output IN ('json_schema', 'json_object', 'prompt')),
  learned_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (endpoint, model)
);

-- Long texts shared by many scene prompts (a story's system message), stored once per story.
CREATE TABLE prompt_texts (
  story_id uuid NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
  hash text NOT NULL CHECK (length(hash) = 64),
  content text NOT NULL,
  PRIMARY KEY (story_id, hash)
);

-- Exactly what the model was sent for a scene: messages (shared texts by hash), the window,
-- num_ctx or max_tokens, and the token count of each section of the prompt.
CREATE TABLE scene_prompts (
  story_id uuid NOT NULL,
  scene_id uuid NOT NULL,
  provider text NOT NULL,
  model text NOT NULL,
  context_window int CHECK (context_window > 0),
  context_source text,
  num_ctx int CHECK (num_ctx > 0),
  max_tokens int CHECK (max_tokens > 0),
  structured_output text,
  prompt_tokens int CHECK (prompt_tokens >= 0),
  tokenizer text,
  sections jsonb NOT NULL DEFAULT '{}'::jsonb,
  messages jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (story_id, scene_id),
  FOREIGN KEY (story_id, scene_id) REFERENCES scenes (story_id, id) ON DELETE CASCADE
);
