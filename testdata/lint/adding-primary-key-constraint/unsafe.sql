-- expect-lint: adding-primary-key-constraint
-- expect-pg: scan ledger
-- expect-pg: lock ledger AccessExclusiveLock
-- expect-pg: blocks-reads ledger
ALTER TABLE ledger ADD PRIMARY KEY (entry_id);
