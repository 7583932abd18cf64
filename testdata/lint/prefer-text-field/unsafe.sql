-- expect-lint: prefer-text-field
-- expect-pg: succeeds
CREATE TABLE tags (id bigint PRIMARY KEY, label varchar(40) NOT NULL);
