-- after: safe_1_index.sql
-- expect-lint: none
-- expect-pg: no-scan accounts
ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE USING INDEX accounts_email_key;
