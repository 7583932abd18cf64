-- quantx:no-transaction
-- expect-lint: none
-- expect-pg: lock accounts ShareUpdateExclusiveLock
-- expect-pg: allows-reads accounts
-- expect-pg: allows-writes accounts
DROP INDEX CONCURRENTLY accounts_email_idx;
