-- expect-lint: changing-column-type
-- expect-pg: rewrite orders
ALTER TABLE orders ALTER COLUMN account_id TYPE text;
