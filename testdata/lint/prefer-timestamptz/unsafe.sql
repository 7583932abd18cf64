-- expect-lint: prefer-timestamptz
-- expect-pg: succeeds
ALTER TABLE accounts ADD COLUMN last_seen timestamp;
