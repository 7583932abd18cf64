-- expect-lint: none
-- expect-pg: succeeds
-- quantx:lint-ignore ban-drop-column no release reads note since 4.2 (ticket OPS-118)
ALTER TABLE accounts DROP COLUMN note;
