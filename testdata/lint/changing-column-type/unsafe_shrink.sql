-- expect-lint: changing-column-type
-- expect-pg: scan accounts
ALTER TABLE accounts ALTER COLUMN name TYPE varchar(40);
