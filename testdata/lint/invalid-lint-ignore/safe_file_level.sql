-- A directive in the file header, followed by a blank line, covers the whole file.
-- quantx:lint-ignore prefer-text-field lengths mirror the card network's fixed formats
-- expect-lint: none
-- expect-pg: succeeds

CREATE TABLE cards (id bigint PRIMARY KEY, pan_last4 varchar(4) NOT NULL);
ALTER TABLE accounts ADD COLUMN card_country varchar(2);
