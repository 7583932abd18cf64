-- expect-lint: renaming-table
-- expect-pg: breaks SELECT count(*) FROM orders
ALTER TABLE orders RENAME TO purchases;
