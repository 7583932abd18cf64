-- expect-lint: ban-char-field
-- expect-pg: succeeds
CREATE TABLE countries (code char(2) PRIMARY KEY, name text NOT NULL);
