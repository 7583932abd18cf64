-- quantx:no-transaction
-- expect-lint: ban-vacuum-full
-- expect-pg: rewrite accounts
-- expect-pg: blocks-reads accounts
VACUUM FULL accounts;
