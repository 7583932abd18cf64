-- orders.fee has the domain type: every row of orders is checked.
-- expect-lint: ban-alter-domain-with-add-constraint
-- expect-pg: scan orders
-- expect-pg: lock orders ShareLock
ALTER DOMAIN amount ADD CONSTRAINT amount_nonneg CHECK (VALUE >= 0);
