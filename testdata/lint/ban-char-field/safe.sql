-- expect-lint: none
-- expect-pg: succeeds
CREATE TABLE countries (code text PRIMARY KEY CHECK (length(code) = 2), name text NOT NULL);
