-- expect-lint: require-concurrent-reindex
-- expect-pg: lock accounts ShareLock
-- expect-pg: blocks-writes accounts
REINDEX INDEX accounts_email_idx;
