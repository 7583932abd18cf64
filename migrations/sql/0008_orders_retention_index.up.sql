-- quantx:no-transaction
-- CREATE INDEX CONCURRENTLY cannot run inside a transaction block, including the
-- implicit one of a multi-statement Exec, so this file holds a single statement and
-- the tool runs it without a transaction (seed-defects #13). orders is a regular
-- table; CONCURRENTLY is refused on partitioned parents.
--
-- Supports the retention job from the seed (seed-defects #10):
--   UPDATE orders SET archived = true
--   WHERE status IN ('FILLED', 'CANCELED', 'EXPIRED') AND archived = false
--     AND created_at < NOW() - INTERVAL '1 year';
-- Partial, so it holds only terminal orders not yet archived: it stays small as
-- the job catches up, and no other index leads with created_at.
--
-- IF NOT EXISTS makes a re-run after a crash resumable. Caveat: a build that fails
-- part-way leaves an INVALID index that IF NOT EXISTS then skips; check
-- pg_index.indisvalid and drop it before re-running.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_orders_retention
    ON orders (created_at)
    WHERE archived = false AND status IN ('FILLED', 'CANCELED', 'EXPIRED');
