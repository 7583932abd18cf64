-- expect-lint: requires-no-transaction
-- expect-pg: fails
VACUUM (ANALYZE) accounts;
