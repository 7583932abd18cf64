-- quantx:no-transaction
-- expect-lint: none
-- expect-pg: succeeds
CREATE INDEX CONCURRENTLY accounts_name_idx ON accounts (name);
