-- expect-lint: adding-stored-generated-column
-- expect-pg: rewrite orders
ALTER TABLE orders ADD COLUMN amount_cents bigint GENERATED ALWAYS AS ((amount * 100)::bigint) STORED;
