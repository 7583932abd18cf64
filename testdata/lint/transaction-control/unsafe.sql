-- expect-lint: transaction-control
-- expect-pg: ends-transaction
BEGIN;
ALTER TABLE accounts ADD COLUMN nickname text;
COMMIT;
