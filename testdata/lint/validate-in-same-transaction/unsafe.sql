-- expect-lint: validate-in-same-transaction
-- expect-pg: scan orders
-- expect-pg: lock orders ShareRowExclusiveLock
ALTER TABLE orders ADD CONSTRAINT orders_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_account_fk;
