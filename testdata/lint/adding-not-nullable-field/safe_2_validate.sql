-- after: safe_1_check.sql
-- expect-lint: none
-- expect-pg: lock orders ShareUpdateExclusiveLock
-- expect-pg: allows-writes orders
ALTER TABLE orders VALIDATE CONSTRAINT orders_account_id_not_null;
