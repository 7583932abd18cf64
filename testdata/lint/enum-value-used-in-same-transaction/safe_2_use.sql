-- after: safe_1_add_value.sql
-- expect-lint: none
-- expect-pg: succeeds
UPDATE orders SET status = 'refunded' WHERE id = 1;
