-- expect-lint: requires-no-transaction
-- expect-pg: fails
CREATE INDEX CONCURRENTLY accounts_name_idx ON accounts (name);
