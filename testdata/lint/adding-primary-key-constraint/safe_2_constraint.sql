-- after: safe_1_index.sql
-- expect-lint: none
-- expect-pg: no-scan ledger
ALTER TABLE ledger ADD CONSTRAINT ledger_pkey PRIMARY KEY USING INDEX ledger_pkey;
