-- expect-lint: require-concurrent-index-deletion
-- expect-pg: lock accounts AccessExclusiveLock
-- expect-pg: blocks-reads accounts
DROP INDEX accounts_email_idx;
