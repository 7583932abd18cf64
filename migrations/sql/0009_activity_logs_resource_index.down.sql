-- quantx:no-transaction
-- Reverse of 0009_activity_logs_resource_index.up.sql. DROP INDEX CONCURRENTLY is
-- not supported on a partitioned index, so this is a plain DROP: it drops the
-- partition indexes with it and holds ACCESS EXCLUSIVE on activity_logs only for
-- the catalog update (the engine runs it under lock_timeout).
DROP INDEX IF EXISTS idx_activity_logs_resource;
