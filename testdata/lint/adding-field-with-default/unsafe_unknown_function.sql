-- A function these migrations did not create and that is not built in:
-- its volatility cannot be known, so the rewrite cannot be ruled out.
-- expect-lint: adding-field-with-default
-- expect-pg: rewrite accounts
CREATE FUNCTION pg_temp.next_code() RETURNS text LANGUAGE sql AS $$ SELECT md5(random()::text) $$;
ALTER TABLE accounts ADD COLUMN invite_code text DEFAULT pg_temp.next_code();
