-- Inline REFERENCES on a new column with a default: every row has a value to check.
-- expect-lint: adding-foreign-key-constraint
-- expect-pg: scan orders
ALTER TABLE orders ADD COLUMN referrer_id bigint DEFAULT 1 REFERENCES accounts (id);
