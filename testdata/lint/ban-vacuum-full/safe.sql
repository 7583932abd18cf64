-- quantx:no-transaction
-- expect-lint: none
-- expect-pg: no-rewrite accounts
-- expect-pg: allows-writes accounts
VACUUM (ANALYZE) accounts;
