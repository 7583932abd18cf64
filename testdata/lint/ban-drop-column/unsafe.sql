-- expect-lint: ban-drop-column
-- expect-pg: breaks SELECT note FROM accounts
ALTER TABLE accounts DROP COLUMN note;
