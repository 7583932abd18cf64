-- quantx:no-transaction
-- "What happened to this order / portfolio / API key?" is the audit question the
-- application asks of activity_logs, and none of 0006's indexes (user_id, action,
-- created_at, organization_id) can answer it without scanning every partition.
-- (resource_type, resource_id, created_at DESC) serves the lookup and its
-- newest-first ordering from the index alone.
--
-- activity_logs is partitioned, and PostgreSQL refuses CREATE INDEX CONCURRENTLY
-- on a partitioned parent (seed-defects #13). The migrations engine hands this
-- statement to partitions.CreateIndex, which builds it without blocking writers:
-- CREATE INDEX ... ON ONLY activity_logs (an invalid parent index), CREATE INDEX
-- CONCURRENTLY on each partition, then ALTER INDEX ... ATTACH PARTITION. Re-running
-- after an interruption continues where it stopped (IF NOT EXISTS, and an INVALID
-- partition index left by a failed build is dropped and rebuilt).
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_activity_logs_resource
    ON activity_logs (resource_type, resource_id, created_at DESC);
