-- expect-lint: none
-- expect-pg: keeps-transaction
ALTER TABLE accounts ADD COLUMN nickname text;
