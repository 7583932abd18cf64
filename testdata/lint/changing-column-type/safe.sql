-- varchar(n) to text, varchar(n) to a larger n, numeric to a larger precision:
-- binary-compatible, no rewrite and no scan.
-- expect-lint: none
-- expect-pg: no-rewrite accounts
-- expect-pg: no-scan accounts
ALTER TABLE accounts ALTER COLUMN email TYPE text;
ALTER TABLE accounts ALTER COLUMN name TYPE varchar(200);
ALTER TABLE accounts ALTER COLUMN balance TYPE numeric(16,2);
