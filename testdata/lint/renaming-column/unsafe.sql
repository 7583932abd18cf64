-- expect-lint: renaming-column
-- expect-pg: breaks SELECT note FROM accounts
ALTER TABLE accounts RENAME COLUMN note TO remark;
