-- Reverse of 0006_activity_logs.up.sql; no CASCADE (seed-defects #15).

DROP FUNCTION create_activity_logs_partition(date);
DROP TABLE activity_logs_default;
-- Dropping the partitioned parent drops every partition still attached to it:
-- the four monthly ones made by the up migration and any that the helper created
-- later. Their names depend on the date the up ran, so they are not listed here.
DROP TABLE activity_logs;
