-- expect-lint: none
-- expect-pg: no-scan accounts
ALTER TABLE accounts ADD CONSTRAINT accounts_balance_nonneg CHECK (balance >= 0) NOT VALID;
