-- Rate-limit counters shared by every server process: a fixed window per key (user and
-- route group), counted by one atomic upsert, so N processes do not allow N times the limit.
CREATE TABLE rate_limit_counters (
  key text PRIMARY KEY CHECK (length(key) <= 300),
  count integer NOT NULL CHECK (count >= 0),
  window_ends_at timestamptz NOT NULL
);
