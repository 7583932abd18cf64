-- expect-lint: none
-- expect-pg: no-scan orders
ALTER TABLE orders ADD CONSTRAINT orders_account_id_not_null CHECK (account_id IS NOT NULL) NOT VALID;
