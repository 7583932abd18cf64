-- expect-lint: none
-- expect-pg: breaks SELECT count(*) FROM ledger
-- quantx:lint-ignore ban-drop-table ledger was archived to S3 in 2026-10 and no release reads it since 4.2
DROP TABLE ledger;
