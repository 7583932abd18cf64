-- quantx:no-transaction
-- expect-lint: none
-- expect-pg: lock accounts ShareUpdateExclusiveLock
-- expect-pg: allows-writes accounts
CREATE INDEX CONCURRENTLY accounts_name_idx ON accounts (name);
