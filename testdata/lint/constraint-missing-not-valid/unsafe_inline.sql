-- expect-lint: constraint-missing-not-valid
-- expect-pg: scan accounts
ALTER TABLE accounts ADD COLUMN score bigint CHECK (score > 0);
