-- expect-lint: require-concurrent-partition-detach
-- expect-pg: lock events AccessExclusiveLock
-- expect-pg: blocks-reads events
ALTER TABLE events DETACH PARTITION events_2026_01;
