-- expect-lint: ban-truncate
-- expect-pg: rewrite orders
-- expect-pg: blocks-reads orders
TRUNCATE orders;
