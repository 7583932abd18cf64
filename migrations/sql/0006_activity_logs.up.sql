-- Audit log, range-partitioned by month on created_at, with a DEFAULT partition
-- and a helper that pre-creates monthly partitions.
-- quantx:lint-ignore prefer-text-field varchar(n) lengths are the seed schema's, which deployed databases and the application already rely on

-- One definition with the full column list and PARTITION BY (seed-defects #3, #4).
CREATE TABLE activity_logs (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    -- SET NULL: audit rows survive a hard delete of the user or organization; the
    -- seed's NO ACTION made any such delete fail (seed-defects #29, project decision).
    -- New FKs on this partitioned table cannot be added NOT VALID (seed-defects #18).
    user_id UUID REFERENCES users (id) ON DELETE SET NULL,
    organization_id UUID REFERENCES organizations (id) ON DELETE SET NULL,
    action VARCHAR(100) NOT NULL,
    resource_type VARCHAR(50) NOT NULL,
    resource_id VARCHAR(100),
    ip_address INET, -- accepts IPv4, IPv6 and CIDR input as is (seed-defects #43)
    user_agent TEXT,
    request_id VARCHAR(100),
    session_id VARCHAR(100),
    details JSONB DEFAULT '{}',
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),

    -- Must include the partition key (seed-defects #5).
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);

-- Catches rows for months that have no partition yet, instead of failing the
-- insert (seed-defects #7). Keep it empty: a non-empty DEFAULT makes creating that
-- month's partition fail (seed-defects #41), and its existence rules out
-- DETACH ... CONCURRENTLY for retention (seed-defects #40).
CREATE TABLE activity_logs_default PARTITION OF activity_logs DEFAULT;

CREATE INDEX idx_activity_logs_user_id ON activity_logs (user_id);
CREATE INDEX idx_activity_logs_action ON activity_logs (action);
CREATE INDEX idx_activity_logs_created_at ON activity_logs (created_at);
-- FK column index: organization deletes run SET NULL through it (seed-defects #38).
CREATE INDEX idx_activity_logs_organization_id ON activity_logs (organization_id);

-- create_activity_logs_partition creates the partition activity_logs_yYYYYmMM for
-- the month containing `month` and returns its name. It is idempotent, so a
-- scheduler (`quantx-db partitions ensure`) can call it ahead of time (seed-defects
-- #41). Bounds are written with an explicit +00 offset: bare dates on a timestamptz
-- key are read in the session TimeZone, and the partitions would then depend on
-- who ran the migration and overlap each other (seed-defects #8).
-- Retention detaches and drops whole partitions instead of a row-by-row DELETE
-- (seed-defects #39).
CREATE FUNCTION create_activity_logs_partition(month date)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    -- ::timestamp (without time zone) keeps the month arithmetic TimeZone-independent.
    first_day      date := date_trunc('month', month::timestamp)::date;
    next_first_day date := (date_trunc('month', month::timestamp) + interval '1 month')::date;
    partition_name text := 'activity_logs_y' || to_char(first_day, 'YYYY') || 'm' || to_char(first_day, 'MM');
    existing       regclass;
BEGIN
    IF month IS NULL THEN
        RAISE EXCEPTION 'create_activity_logs_partition: month must not be NULL';
    END IF;

    -- A table with this name that is not one of our partitions is drift: refuse it
    -- rather than let IF NOT EXISTS hide it.
    existing := to_regclass(partition_name);
    IF existing IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM pg_inherits
        WHERE inhrelid = existing AND inhparent = 'activity_logs'::regclass
    ) THEN
        RAISE EXCEPTION 'create_activity_logs_partition: % exists but is not a partition of activity_logs', partition_name;
    END IF;

    -- IF NOT EXISTS: a concurrent caller may have created it since the check above.
    EXECUTE format(
        'CREATE TABLE IF NOT EXISTS %I PARTITION OF activity_logs FOR VALUES FROM (%L) TO (%L)',
        partition_name,
        to_char(first_day, 'YYYY-MM-DD') || ' 00:00:00+00',
        to_char(next_first_day, 'YYYY-MM-DD') || ' 00:00:00+00');

    RETURN partition_name;
END;
$$;

-- The current month and the next 3, computed in UTC so that the set of partitions
-- does not depend on the session TimeZone either.
SELECT create_activity_logs_partition(
           (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => m))::date)
FROM generate_series(0, 3) AS m;
