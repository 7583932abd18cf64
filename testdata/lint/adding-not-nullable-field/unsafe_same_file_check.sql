-- The CHECK is added NOT VALID in the same file: it proves nothing yet.
-- expect-lint: adding-not-nullable-field
-- expect-pg: scan orders
ALTER TABLE orders ADD CONSTRAINT orders_account_id_not_null CHECK (account_id IS NOT NULL) NOT VALID;
ALTER TABLE orders ALTER COLUMN account_id SET NOT NULL;
