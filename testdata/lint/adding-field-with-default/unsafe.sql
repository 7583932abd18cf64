-- expect-lint: adding-field-with-default
-- expect-pg: rewrite accounts
ALTER TABLE accounts ADD COLUMN api_token uuid DEFAULT gen_random_uuid();
