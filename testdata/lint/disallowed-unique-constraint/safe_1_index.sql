-- quantx:no-transaction
-- expect-lint: none
-- expect-pg: allows-writes accounts
CREATE UNIQUE INDEX CONCURRENTLY accounts_email_key ON accounts (email);
