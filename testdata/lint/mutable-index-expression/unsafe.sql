-- expect-lint: mutable-index-expression
-- expect-pg: fails
CREATE TABLE recent_orders (id bigint PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE INDEX recent_orders_idx ON recent_orders (created_at) WHERE created_at > now() - interval '30 days';
