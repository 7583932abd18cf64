-- Add the new name next to the old one; readers move, then the old column goes.
-- expect-lint: none
-- expect-pg: keeps SELECT note FROM accounts
ALTER TABLE accounts ADD COLUMN remark text;
