-- expect-lint: adding-foreign-key-constraint
-- expect-pg: scan orders
-- expect-pg: lock accounts ShareRowExclusiveLock
-- expect-pg: blocks-writes accounts
ALTER TABLE orders ADD CONSTRAINT orders_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id);
