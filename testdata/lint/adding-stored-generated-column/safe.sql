-- expect-lint: none
-- expect-pg: no-rewrite orders
ALTER TABLE orders ADD COLUMN amount_cents bigint;
