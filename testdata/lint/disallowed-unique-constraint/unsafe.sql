-- expect-lint: disallowed-unique-constraint
-- expect-pg: scan accounts
-- expect-pg: lock accounts AccessExclusiveLock
-- expect-pg: blocks-reads accounts
ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE (email);
