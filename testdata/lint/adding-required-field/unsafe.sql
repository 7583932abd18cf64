-- expect-lint: adding-required-field
-- expect-pg: fails
ALTER TABLE accounts ADD COLUMN region text NOT NULL;
