-- expect-lint: prefer-bigint-over-int
-- expect-pg: succeeds
CREATE TABLE counters (id bigint PRIMARY KEY, hits integer NOT NULL DEFAULT 0);
