-- quantx:no-transaction
-- expect-lint: none
-- expect-pg: allows-writes events
ALTER TABLE events DETACH PARTITION events_2026_01 CONCURRENTLY;
