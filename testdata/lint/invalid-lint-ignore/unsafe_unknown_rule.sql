-- A misspelt rule id is refused too.
-- expect-lint: invalid-lint-ignore,ban-drop-column
-- expect-pg: succeeds
-- quantx:lint-ignore ban-drop-colum no release reads note since 4.2
ALTER TABLE accounts DROP COLUMN note;
