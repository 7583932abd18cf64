-- expect-lint: changing-column-type
-- expect-pg: rewrite accounts
ALTER TABLE accounts ALTER COLUMN balance TYPE numeric(14,4);
