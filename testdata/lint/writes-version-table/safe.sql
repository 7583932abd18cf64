-- Reading it is harmless.
-- expect-lint: none
-- expect-pg: keeps SELECT version FROM schema_migrations
SELECT version FROM schema_migrations;
