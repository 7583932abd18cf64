-- expect-lint: none
-- expect-pg: new import_batch
CREATE TABLE import_batch (id bigint, payload text);
ALTER TABLE import_batch SET UNLOGGED;
