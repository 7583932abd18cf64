-- quantx:no-transaction
-- Reverse of 0008_orders_retention_index.up.sql. DROP INDEX CONCURRENTLY cannot
-- run in a transaction either (seed-defects #13).
DROP INDEX CONCURRENTLY IF EXISTS idx_orders_retention;
