-- expect-lint: ban-set-logged-unlogged
-- expect-pg: rewrite orders
ALTER TABLE orders SET UNLOGGED;
