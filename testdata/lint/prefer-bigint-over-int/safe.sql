-- expect-lint: none
-- expect-pg: succeeds
CREATE TABLE counters (id bigint PRIMARY KEY, hits bigint NOT NULL DEFAULT 0);
