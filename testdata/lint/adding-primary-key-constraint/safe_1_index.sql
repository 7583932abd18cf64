-- quantx:no-transaction
-- expect-lint: none
-- expect-pg: allows-writes ledger
CREATE UNIQUE INDEX CONCURRENTLY ledger_pkey ON ledger (entry_id);
