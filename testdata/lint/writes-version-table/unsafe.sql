-- expect-lint: writes-version-table
-- expect-pg: changes SELECT version FROM schema_migrations
UPDATE schema_migrations SET version = 7;
