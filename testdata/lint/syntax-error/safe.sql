-- expect-lint: none
-- expect-pg: succeeds
CREATE TABLE broken (
    id bigint PRIMARY KEY
);
