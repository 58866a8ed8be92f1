-- The SHA-256 of the file a story was imported from, so that importing the same file again
-- is noticed (and asked about) instead of making a silent copy. NULL for stories made here.
ALTER TABLE stories ADD COLUMN import_hash text CHECK (import_hash ~ '^[0-9a-f]{64}$');
CREATE INDEX stories_import_hash ON stories (import_hash) WHERE import_hash IS NOT NULL;
