-- Reverse of 0004_orders_transactions.up.sql: partitions, then the partitioned
-- parent, then orders; no CASCADE (seed-defects #15).

DROP TABLE transactions_p3;
DROP TABLE transactions_p2;
DROP TABLE transactions_p1;
DROP TABLE transactions_p0;
DROP TABLE transactions;
DROP TABLE orders;
