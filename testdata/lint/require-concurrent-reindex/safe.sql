-- quantx:no-transaction
-- expect-lint: none
-- expect-pg: lock accounts ShareUpdateExclusiveLock
-- expect-pg: allows-writes accounts
REINDEX INDEX CONCURRENTLY accounts_email_idx;
