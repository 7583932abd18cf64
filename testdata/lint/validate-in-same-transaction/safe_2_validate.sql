-- after: safe_1_add.sql
-- expect-lint: none
-- expect-pg: scan orders
-- expect-pg: lock orders ShareUpdateExclusiveLock
-- expect-pg: allows-writes orders
ALTER TABLE orders VALIDATE CONSTRAINT orders_account_fk;
