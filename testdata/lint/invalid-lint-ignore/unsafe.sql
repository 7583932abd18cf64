-- No reason given: the directive is refused and silences nothing.
-- expect-lint: invalid-lint-ignore,ban-drop-column
-- expect-pg: succeeds
-- quantx:lint-ignore ban-drop-column
ALTER TABLE accounts DROP COLUMN note;
