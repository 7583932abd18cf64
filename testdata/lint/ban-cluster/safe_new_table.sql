-- expect-lint: none
-- expect-pg: new archive
CREATE TABLE archive (id bigint PRIMARY KEY, body text);
CLUSTER archive USING archive_pkey;
