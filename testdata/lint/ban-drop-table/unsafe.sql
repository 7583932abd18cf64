-- expect-lint: ban-drop-table
-- expect-pg: breaks SELECT count(*) FROM ledger
DROP TABLE ledger;
