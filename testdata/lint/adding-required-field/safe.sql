-- expect-lint: none
-- expect-pg: succeeds
-- expect-pg: no-rewrite accounts
ALTER TABLE accounts ADD COLUMN region text NOT NULL DEFAULT 'eu';
