-- expect-lint: syntax-error
-- expect-pg: fails
CREATE TABLE broken (
    id bigint PRIMARY KEY,
);
