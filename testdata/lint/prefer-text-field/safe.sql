-- expect-lint: none
-- expect-pg: succeeds
CREATE TABLE tags (id bigint PRIMARY KEY, label text NOT NULL CHECK (length(label) <= 40));
