-- expect-lint: none
-- expect-pg: no-scan orders
ALTER DOMAIN amount ADD CONSTRAINT amount_nonneg CHECK (VALUE >= 0) NOT VALID;
