-- expect-lint: none
-- expect-pg: succeeds
ALTER TABLE accounts ADD COLUMN last_seen timestamptz;
