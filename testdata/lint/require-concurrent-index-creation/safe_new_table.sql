-- expect-lint: none
-- expect-pg: new notes
CREATE TABLE notes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id),
    body text NOT NULL
);
CREATE INDEX notes_account_id_idx ON notes (account_id);
