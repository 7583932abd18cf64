-- expect-lint: adding-not-nullable-field
-- expect-pg: scan orders
-- expect-pg: lock orders AccessExclusiveLock
ALTER TABLE orders ALTER COLUMN account_id SET NOT NULL;
