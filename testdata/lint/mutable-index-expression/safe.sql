-- expect-lint: none
-- expect-pg: succeeds
CREATE TABLE recent_orders (id bigint PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE INDEX recent_orders_idx ON recent_orders (created_at) WHERE created_at > '2026-01-01 00:00:00+00';
