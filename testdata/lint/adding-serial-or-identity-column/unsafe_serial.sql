-- expect-lint: adding-serial-or-identity-column,prefer-identity
-- expect-pg: rewrite orders
ALTER TABLE orders ADD COLUMN seq bigserial;
