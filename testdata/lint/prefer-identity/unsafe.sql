-- expect-lint: prefer-identity
-- expect-pg: succeeds
CREATE TABLE sessions (id bigserial PRIMARY KEY, account_id bigint NOT NULL);
