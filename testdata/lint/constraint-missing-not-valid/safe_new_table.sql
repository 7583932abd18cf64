-- expect-lint: none
-- expect-pg: new rates
CREATE TABLE rates (id bigint PRIMARY KEY, rate numeric NOT NULL);
ALTER TABLE rates ADD CONSTRAINT rates_positive CHECK (rate > 0);
