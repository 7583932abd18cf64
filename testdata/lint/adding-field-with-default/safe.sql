-- now() is STABLE: evaluated once, stored as the missing value, no rewrite.
-- expect-lint: none
-- expect-pg: no-rewrite accounts
-- expect-pg: no-scan accounts
ALTER TABLE accounts ADD COLUMN joined_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE accounts ADD COLUMN verified boolean NOT NULL DEFAULT false;
ALTER TABLE accounts ADD COLUMN settings jsonb NOT NULL DEFAULT '{}'::jsonb;
