-- expect-lint: constraint-missing-not-valid
-- expect-pg: scan accounts
-- expect-pg: lock accounts AccessExclusiveLock
ALTER TABLE accounts ADD CONSTRAINT accounts_balance_nonneg CHECK (balance >= 0);
