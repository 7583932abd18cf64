-- Inline REFERENCES on a new column without a default: every row is NULL and
-- PostgreSQL 15 skips the validation (measured: no scan), as with NOT VALID.
-- expect-lint: none
-- expect-pg: no-scan orders
ALTER TABLE orders ADD COLUMN referrer_id bigint REFERENCES accounts (id);
