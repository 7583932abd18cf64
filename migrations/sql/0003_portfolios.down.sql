-- Reverse of 0003_portfolios.up.sql: children first, no CASCADE (seed-defects #15).

DROP TABLE holdings;
DROP TABLE instruments;
DROP TABLE portfolios;
