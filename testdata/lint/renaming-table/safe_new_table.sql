-- expect-lint: none
-- expect-pg: new drafts
CREATE TABLE drafts (id bigint PRIMARY KEY);
ALTER TABLE drafts RENAME TO draft_orders;
