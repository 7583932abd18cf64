-- expect-lint: enum-value-used-in-same-transaction
-- expect-pg: fails
ALTER TYPE order_status ADD VALUE 'refunded';
UPDATE orders SET status = 'refunded' WHERE id = 1;
