-- expect-lint: none
-- expect-pg: new staging
CREATE TABLE staging (id bigint);
INSERT INTO staging VALUES (1);
TRUNCATE staging;
