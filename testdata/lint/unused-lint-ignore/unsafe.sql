-- expect-lint: unused-lint-ignore
-- expect-pg: succeeds
-- quantx:lint-ignore ban-drop-column dropping the legacy column was approved in OPS-118
ALTER TABLE accounts ADD COLUMN legacy text;
