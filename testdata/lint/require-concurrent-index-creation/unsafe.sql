-- expect-lint: require-concurrent-index-creation
-- expect-pg: lock accounts ShareLock
-- expect-pg: blocks-writes accounts
CREATE INDEX accounts_name_idx ON accounts (name);
