-- ALTER TYPE ... ADD VALUE alone: fine inside a transaction since PostgreSQL 12.
-- expect-lint: none
-- expect-pg: succeeds
ALTER TYPE order_status ADD VALUE 'refunded';
