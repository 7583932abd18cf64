-- A function created by these migrations and declared IMMUTABLE.
-- expect-lint: none
-- expect-pg: no-rewrite accounts
CREATE FUNCTION default_region() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'eu' $$;
ALTER TABLE accounts ADD COLUMN region text DEFAULT default_region();
