package partitions_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quantx/quantx-db/internal/testenv"
	"github.com/quantx/quantx-db/partitions"
)

// schemaVersion is the last migration these tests need (0006 makes
// activity_logs, 0004 transactions). Pinned rather than "all", so a later
// migration by another team cannot change what these tests start from.
const schemaVersion = 8

// newDB returns a pool on a fresh database at schemaVersion (a copy of
// testenv's migrated template).
func newDB(t *testing.T) (*pgxpool.Pool, *testenv.PGDatabase) {
	t.Helper()
	db := testenv.MigratedPostgres(t, schemaVersion)
	cfg, err := pgxpool.ParseConfig(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 12
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, db
}

func newPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// at returns a clock pinned to s (RFC 3339).
func at(t *testing.T, s string) func() time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return func() time.Time { return ts }
}

// fastOpts are the CLI's lock settings (a minute's wait, 4 retries) with a
// shorter lock_timeout and backoff.
func fastOpts(now func() time.Time) partitions.Options {
	return partitions.Options{Now: now, LockWait: time.Minute, LockTimeout: 2 * time.Second, Retries: 4, RetryBackoff: 20 * time.Millisecond}
}

func queryInt(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func exec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// boundsOf returns pg_get_expr(relpartbound) of a partition, read in UTC.
func boundsOf(t *testing.T, pool *pgxpool.Pool, name string) string {
	t.Helper()
	conn, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	var b string
	if _, err := conn.Exec(t.Context(), "SET TimeZone = 'UTC'"); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(t.Context(), "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE oid = to_regclass($1)", name).Scan(&b); err != nil {
		t.Fatalf("bounds of %s: %v", name, err)
	}
	_, _ = conn.Exec(t.Context(), "RESET TimeZone")
	return b
}
