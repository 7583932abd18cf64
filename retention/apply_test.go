package retention_test

import (
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quantx/quantx-db/internal/s3store"
	"github.com/quantx/quantx-db/internal/testenv"
	"github.com/quantx/quantx-db/partitions"
	"github.com/quantx/quantx-db/retention"
)

// newDB returns a pool on a fresh database at version 8 (a copy of
// testenv's migrated template).
func newDB(t *testing.T) *pgxpool.Pool {
	t.Helper()
	db := testenv.MigratedPostgres(t, 8)
	pool, err := pgxpool.New(t.Context(), db.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func newStore(t *testing.T) *s3store.Store {
	t.Helper()
	b := testenv.S3(t)
	st, err := s3store.New(t.Context(), s3store.Config{Endpoint: b.Endpoint, AccessKey: b.AccessKey, SecretKey: b.SecretKey,
		Bucket: b.Bucket, Prefix: "quantx-db/", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func count(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(t.Context(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func exec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func monthlyPartitions(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(t.Context(), "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'activity_logs'::regclass AND inhrelid::regclass::text <> 'activity_logs_default' ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

// seedMonths makes the partitions from March 2028 through June 2030 and puts
// 1000 rows into each of March-June 2028 (with awkward CSV content).
func seedMonths(t *testing.T, pool *pgxpool.Pool, now func() time.Time) {
	t.Helper()
	if _, err := partitions.New(pool, partitions.Options{Now: now}).Ensure(t.Context(), partitions.EnsureOptions{MonthsBack: 27, MonthsAhead: -1}); err != nil {
		t.Fatal(err)
	}
	exec(t, pool, `INSERT INTO activity_logs (action, resource_type, user_agent, details, created_at)
		SELECT 'login', 'session', E'Mozilla "5.0",\nline two', jsonb_build_object('n', i),
		       timestamptz '2028-03-01 00:00:00+00' + (i % 4) * interval '1 month' + (i % 997) * interval '1 minute'
		FROM generate_series(0, 3999) i`)
}

func TestRetentionDryRunThenApply(t *testing.T) {
	t.Parallel()
	pool := newDB(t)
	store := newStore(t)
	now := func() time.Time { return time.Date(2030, 6, 15, 0, 0, 0, 0, time.UTC) } // cutoff 2028-06-15
	seedMonths(t, pool, now)
	before := monthlyPartitions(t, pool)
	// Expired: the four months 0006 made (real clock, 2026/27) and March-May 2028.
	wantDropped := []string{"activity_logs_y2028m03", "activity_logs_y2028m04", "activity_logs_y2028m05"}
	policy := retention.DefaultPolicy()
	policy.Postgres.Orders = nil
	opts := retention.Options{Partitions: partitions.Options{Now: now}, Store: store}

	dry := opts
	dry.DryRun = true
	rep, err := retention.New(pool, policy, dry).Apply(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tr := rep.Tables[0]
	var names []string
	for _, p := range tr.Partitions {
		names = append(names, p.Partition)
		if p.Dropped || p.Archive != nil {
			t.Errorf("dry run reports %s as dropped/archived", p.Partition)
		}
	}
	if !rep.DryRun || len(names) < 3 || !slices.Equal(names[len(names)-3:], wantDropped) || tr.Rows != 3000 {
		t.Fatalf("dry run: partitions %v rows %d; want ...%v and 3000 rows", names, tr.Rows, wantDropped)
	}
	if got := monthlyPartitions(t, pool); !slices.Equal(got, before) {
		t.Fatalf("dry run changed the partitions: %v -> %v", before, got)
	}
	if objs, _ := store.List(t.Context(), ""); len(objs) != 0 {
		t.Fatalf("dry run wrote %d objects", len(objs))
	}

	rep, err = retention.New(pool, policy, opts).Apply(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tr = rep.Tables[0]
	if len(tr.Partitions) != len(names) || tr.Rows != 3000 {
		t.Fatalf("apply: %d partitions, %d rows", len(tr.Partitions), tr.Rows)
	}
	after := monthlyPartitions(t, pool)
	for _, p := range tr.Partitions {
		if !p.Dropped || p.Archive == nil || !p.Archive.Verified || p.Detach != partitions.DetachPlain {
			t.Errorf("%s: %+v", p.Partition, p)
		}
		if slices.Contains(after, p.Partition) || count(t, pool, "SELECT count(*) FROM pg_class WHERE relname = $1", p.Partition) != 0 {
			t.Errorf("%s still exists", p.Partition)
		}
	}
	if !slices.Contains(after, "activity_logs_y2028m06") || count(t, pool, "SELECT count(*) FROM activity_logs_y2028m06") != 1000 {
		t.Errorf("June 2028 (rows on both sides of the cutoff) must stay intact; partitions now %v", after)
	}
	if len(after) != len(before)-len(names) {
		t.Errorf("partitions %d -> %d, dropped %d", len(before), len(after), len(names))
	}
	// The archive of April 2028 is in the bucket, with its manifest, and holds the 1000 rows.
	var april *retention.Archive
	for _, p := range tr.Partitions {
		if p.Partition == "activity_logs_y2028m04" {
			april = p.Archive
		}
	}
	if april == nil || april.Rows != 1000 {
		t.Fatalf("april archive: %+v", april)
	}
	rc, err := store.Get(t.Context(), april.ManifestKey)
	if err != nil {
		t.Fatal(err)
	}
	var man struct {
		Rows    int64    `json:"rows"`
		SHA256  string   `json:"sha256"`
		Columns []string `json:"columns"`
		Format  string   `json:"format"`
	}
	if err := json.NewDecoder(rc).Decode(&man); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if man.Rows != 1000 || man.SHA256 != april.SHA256 || len(man.Columns) != 12 {
		t.Errorf("manifest: %+v", man)
	}
	rc, err = store.Get(t.Context(), april.Key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	zr, err := gzip.NewReader(rc)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(zr).ReadAll()
	if err != nil {
		t.Fatalf("archive is not valid gzip CSV: %v", err)
	}
	if len(recs) != 1001 || recs[0][0] != "id" || recs[1][7] != "Mozilla \"5.0\",\nline two" {
		t.Errorf("archive: %d records, header %v, first row %q", len(recs), recs[0], recs[1])
	}

	// Nothing left to do on a second run.
	rep, err = retention.New(pool, policy, opts).Apply(t.Context())
	if err != nil || len(rep.Tables[0].Partitions) != 0 {
		t.Fatalf("second apply: %v %+v", err, rep.Tables[0].Partitions)
	}
}

func TestRetentionNeedsStoreOrNoArchive(t *testing.T) {
	t.Parallel()
	pool := newDB(t)
	now := func() time.Time { return time.Date(2030, 6, 15, 0, 0, 0, 0, time.UTC) }
	seedMonths(t, pool, now)
	before := monthlyPartitions(t, pool)
	policy := retention.DefaultPolicy()
	policy.Postgres.Orders = nil
	_, err := retention.New(pool, policy, retention.Options{Partitions: partitions.Options{Now: now}}).Apply(t.Context())
	if !errors.Is(err, retention.ErrNoArchiveStore) {
		t.Fatalf("without a store: %v", err)
	}
	if got := monthlyPartitions(t, pool); !slices.Equal(got, before) {
		t.Fatalf("refused run changed partitions")
	}
	rep, err := retention.New(pool, policy, retention.Options{Partitions: partitions.Options{Now: now}, NoArchive: true}).Apply(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Tables[0].Rows != 3000 || count(t, pool, "SELECT count(*) FROM activity_logs WHERE created_at < '2028-06-01'") != 0 {
		t.Errorf("--no-archive dropped %d rows", rep.Tables[0].Rows)
	}
}

// TestRetentionResumesDetached: a run that detached a partition and died
// before the drop leaves a plain table; the next run archives and drops it.
func TestRetentionResumesDetached(t *testing.T) {
	t.Parallel()
	pool := newDB(t)
	store := newStore(t)
	now := func() time.Time { return time.Date(2030, 6, 15, 0, 0, 0, 0, time.UTC) }
	seedMonths(t, pool, now)
	exec(t, pool, "ALTER TABLE activity_logs DETACH PARTITION activity_logs_y2028m04")
	policy := retention.DefaultPolicy()
	policy.Postgres.Orders = nil
	rep, err := retention.New(pool, policy, retention.Options{Partitions: partitions.Options{Now: now}, Store: store}).Apply(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, p := range rep.Tables[0].Partitions {
		if p.Partition == "activity_logs_y2028m04" {
			found = p.Detach == partitions.DetachNone && p.Dropped && p.Archive != nil && p.Archive.Rows == 1000
		}
	}
	if !found || count(t, pool, "SELECT count(*) FROM pg_class WHERE relname = 'activity_logs_y2028m04'") != 0 {
		t.Fatalf("detached leftover not finished: %+v", rep.Tables[0].Partitions)
	}
}

func TestOrdersArchivedInBatches(t *testing.T) {
	t.Parallel()
	pool := newDB(t)
	exec(t, pool, "INSERT INTO users (id, email, password_hash) VALUES ('00000000-0000-0000-0000-000000000001', 'a@x', 'h')")
	exec(t, pool, "INSERT INTO portfolios (id, user_id, name) VALUES ('00000000-0000-0000-0000-0000000000aa', '00000000-0000-0000-0000-000000000001', 'p')")
	// 2,500 expired terminal orders, 300 expired but PENDING, 400 terminal but recent.
	exec(t, pool, `INSERT INTO orders (portfolio_id, user_id, symbol, order_type, side, quantity, status, created_at)
		SELECT '00000000-0000-0000-0000-0000000000aa', '00000000-0000-0000-0000-000000000001', 'AAPL', 'MARKET', 'BUY', 1,
		       (ARRAY['FILLED','CANCELED','EXPIRED'])[1 + i % 3]::order_status_enum, timestamptz '2028-01-01' + i * interval '1 minute'
		FROM generate_series(1, 2500) i`)
	exec(t, pool, `INSERT INTO orders (portfolio_id, user_id, symbol, order_type, side, quantity, status, created_at)
		SELECT '00000000-0000-0000-0000-0000000000aa', '00000000-0000-0000-0000-000000000001', 'AAPL', 'MARKET', 'BUY', 1, 'PENDING', timestamptz '2028-01-01'
		FROM generate_series(1, 300) i`)
	exec(t, pool, `INSERT INTO orders (portfolio_id, user_id, symbol, order_type, side, quantity, status, created_at)
		SELECT '00000000-0000-0000-0000-0000000000aa', '00000000-0000-0000-0000-000000000001', 'AAPL', 'MARKET', 'BUY', 1, 'FILLED', timestamptz '2030-06-01'
		FROM generate_series(1, 400) i`)
	now := func() time.Time { return time.Date(2030, 6, 15, 0, 0, 0, 0, time.UTC) }
	policy := retention.DefaultPolicy()
	policy.Postgres.ActivityLogs = nil
	policy.Postgres.Orders.BatchSize = 1000
	policy.Postgres.Orders.Pause.D = 5 * time.Millisecond

	rep, err := retention.New(pool, policy, retention.Options{Partitions: partitions.Options{Now: now}, DryRun: true}).Apply(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if tr := rep.Tables[0]; tr.Rows != 2500 || tr.Batches != 3 || count(t, pool, "SELECT count(*) FROM orders WHERE archived") != 0 {
		t.Fatalf("dry run: %d rows in %d batches (want 2500 in 3), and nothing archived", tr.Rows, tr.Batches)
	}
	rep, err = retention.New(pool, policy, retention.Options{Partitions: partitions.Options{Now: now}}).Apply(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tr := rep.Tables[0]
	if tr.Rows != 2500 || tr.Batches != 3 {
		t.Errorf("apply: %d rows in %d batches", tr.Rows, tr.Batches)
	}
	if n := count(t, pool, "SELECT count(*) FROM orders WHERE archived"); n != 2500 {
		t.Errorf("%d orders archived, want 2500", n)
	}
	if n := count(t, pool, "SELECT count(*) FROM orders WHERE archived AND (status = 'PENDING' OR created_at > '2029-01-01')"); n != 0 {
		t.Errorf("%d pending or recent orders archived", n)
	}
	// One transaction per batch: the archived rows carry 3 different xmins.
	if n := count(t, pool, "SELECT count(DISTINCT xmin::text) FROM orders WHERE archived"); n != 3 {
		t.Errorf("archived rows were written by %d transactions, want 3 (one per batch)", n)
	}
	rep, err = retention.New(pool, policy, retention.Options{Partitions: partitions.Options{Now: now}}).Apply(t.Context())
	if err != nil || rep.Tables[0].Rows != 0 {
		t.Errorf("second run: %v, %d rows", err, rep.Tables[0].Rows)
	}
}
