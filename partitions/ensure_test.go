package partitions_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/quantx/quantx-db/partitions"
)

func TestEnsureIdempotent(t *testing.T) {
	t.Parallel()
	pool, _ := newDB(t)
	m := partitions.New(pool, fastOpts(at(t, "2031-05-10T12:00:00Z")))

	rep, err := m.Ensure(t.Context(), partitions.EnsureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"activity_logs_y2031m05", "activity_logs_y2031m06", "activity_logs_y2031m07", "activity_logs_y2031m08"}
	if !slices.Equal(rep.Created, want) || !rep.Changed || len(rep.Existing) != 0 {
		t.Fatalf("first run: created %v existing %v changed %v; want created %v", rep.Created, rep.Existing, rep.Changed, want)
	}
	if !rep.HashOK {
		t.Fatalf("hash check on a fresh schema: %+v", rep.Hash)
	}

	again, err := m.Ensure(t.Context(), partitions.EnsureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Changed || len(again.Created) != 0 || !slices.Equal(again.Existing, want) {
		t.Fatalf("second run changed something: created %v existing %v", again.Created, again.Existing)
	}
	for _, name := range want {
		if n := queryInt(t, pool, "SELECT count(*) FROM pg_inherits WHERE inhrelid = to_regclass($1) AND inhparent = 'activity_logs'::regclass", name); n != 1 {
			t.Errorf("%s is not a partition of activity_logs", name)
		}
	}
	// The new partitions got the parent's indexes (ATTACH creates them).
	if n := queryInt(t, pool, "SELECT count(*) FROM pg_indexes WHERE tablename = 'activity_logs_y2031m06'"); n != 5 {
		t.Errorf("activity_logs_y2031m06 has %d indexes, want 5 (pk + 4)", n)
	}
}

func TestEnsureYearRollover(t *testing.T) {
	t.Parallel()
	pool, _ := newDB(t)
	// One second before the new year in UTC; New York is still at 18:59.
	m := partitions.New(pool, fastOpts(at(t, "2030-12-31T23:59:59Z")))
	rep, err := m.Ensure(t.Context(), partitions.EnsureOptions{MonthsAhead: 2, MonthsBack: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"activity_logs_y2030m11", "activity_logs_y2030m12", "activity_logs_y2031m01", "activity_logs_y2031m02"}
	if !slices.Equal(rep.Created, want) {
		t.Fatalf("created %v, want %v", rep.Created, want)
	}
	if got, want := boundsOf(t, pool, "activity_logs_y2031m01"), "FOR VALUES FROM ('2031-01-01 00:00:00+00') TO ('2031-02-01 00:00:00+00')"; got != want {
		t.Errorf("bounds %q, want %q", got, want)
	}
	if got, want := boundsOf(t, pool, "activity_logs_y2030m12"), "FOR VALUES FROM ('2030-12-01 00:00:00+00') TO ('2031-01-01 00:00:00+00')"; got != want {
		t.Errorf("bounds %q, want %q", got, want)
	}
	// Rows either side of the UTC midnight land in the right month, whatever the session time zone.
	conn, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for _, s := range []string{"SET TimeZone = 'America/New_York'",
		"INSERT INTO activity_logs (action, resource_type, created_at) VALUES ('a', 'r', '2031-01-01 00:00:00+00'), ('b', 'r', '2030-12-31 23:59:59.999+00')"} {
		if _, err := conn.Exec(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = conn.Exec(t.Context(), "RESET TimeZone")
	if n := queryInt(t, pool, "SELECT count(*) FROM activity_logs_y2031m01 WHERE action = 'a'"); n != 1 {
		t.Errorf("2031-01-01T00:00Z not in activity_logs_y2031m01")
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM activity_logs_y2030m12 WHERE action = 'b'"); n != 1 {
		t.Errorf("2030-12-31T23:59:59.999Z not in activity_logs_y2030m12")
	}
	h, err := m.Health(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if h.HorizonMonths != 2 || !h.CoveredUntil.Equal(time.Date(2031, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("health horizon %d until %s, want 2 until 2031-03-01", h.HorizonMonths, h.CoveredUntil)
	}
}

// TestEnsureMovesDefaultRowsUnderInserts is the pg_partman #510 situation:
// rows for months without a partition sit in DEFAULT. Ensure must move them
// while other sessions keep inserting into those months, into DEFAULT
// (far future) and into an existing month, and no insert may fail.
func TestEnsureMovesDefaultRowsUnderInserts(t *testing.T) {
	t.Parallel()
	pool, _ := newDB(t)
	// 30,000 rows spread over Jan-Mar 2032 (no partitions yet: they go to DEFAULT).
	exec(t, pool, `INSERT INTO activity_logs (action, resource_type, created_at)
		SELECT 'seed', 'r', timestamptz '2032-01-01 00:00:00+00' + (i * interval '259 seconds')
		FROM generate_series(0, 29999) i`)
	if n := queryInt(t, pool, "SELECT count(*) FROM activity_logs_default"); n != 30000 {
		t.Fatalf("setup: DEFAULT holds %d rows", n)
	}

	ctx, stop := context.WithCancel(t.Context())
	var inserted atomic.Int64
	var mu sync.Mutex
	var failures []error
	targets := []string{"2032-02-15 10:00:00+00", "2032-03-31 23:59:59+00", "2040-06-01 00:00:00+00", "2031-12-10 00:00:00+00"}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				ts := targets[(w+i)%len(targets)]
				_, err := pool.Exec(context.Background(), "INSERT INTO activity_logs (action, resource_type, created_at) VALUES ('live', 'r', $1::timestamptz)", ts)
				if err != nil {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
					continue
				}
				inserted.Add(1)
			}
		})
	}
	time.Sleep(200 * time.Millisecond) // inserts are flowing before maintenance starts

	m := partitions.New(pool, fastOpts(at(t, "2032-01-20T00:00:00Z")))
	// 2031-12 first (a plain create under load), then 2032-01..03 with rows to move.
	rep, err := m.Ensure(t.Context(), partitions.EnsureOptions{MonthsAhead: 2, MonthsBack: 1})
	time.Sleep(200 * time.Millisecond)
	stop()
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(failures) > 0 {
		t.Fatalf("%d of %d inserts failed during ensure; first: %v", len(failures), int64(len(failures))+inserted.Load(), failures[0])
	}
	if inserted.Load() < 20 {
		t.Fatalf("only %d inserts ran: the test did not exercise concurrency", inserted.Load())
	}
	if rep.RowsMoved < 30000 {
		t.Errorf("moved %d rows, want at least the 30000 seeded", rep.RowsMoved)
	}
	// DEFAULT now holds only the far-future rows.
	if n := queryInt(t, pool, "SELECT count(*) FROM activity_logs_default WHERE created_at < '2040-01-01'"); n != 0 {
		t.Errorf("DEFAULT still holds %d rows of months that now have partitions", n)
	}
	seeded := queryInt(t, pool, "SELECT count(*) FROM activity_logs WHERE action = 'seed'")
	live := queryInt(t, pool, "SELECT count(*) FROM activity_logs WHERE action = 'live'")
	if seeded != 30000 || live != inserted.Load() {
		t.Errorf("rows after ensure: seed %d (want 30000), live %d (want %d)", seeded, live, inserted.Load())
	}
	for _, month := range []string{"2032m01", "2032m02", "2032m03"} {
		name := "activity_logs_y" + month
		if n := queryInt(t, pool, fmt.Sprintf("SELECT count(*) FROM %s WHERE action = 'seed'", name)); n < 9000 {
			t.Errorf("%s holds %d seeded rows", name, n)
		}
	}
	t.Logf("ensure moved %d rows while %d concurrent inserts succeeded", rep.RowsMoved, inserted.Load())
}

func TestEnsureConcurrentRuns(t *testing.T) {
	t.Parallel()
	pool, db := newDB(t)
	now := at(t, "2033-03-03T03:03:03Z")
	pool2 := newPool(t, db.URL)
	var wg sync.WaitGroup
	reps := make([]partitions.EnsureReport, 2)
	errs := make([]error, 2)
	for i, p := range []*partitions.Manager{partitions.New(pool, fastOpts(now)), partitions.New(pool2, fastOpts(now))} {
		wg.Go(func() { reps[i], errs[i] = p.Ensure(t.Context(), partitions.EnsureOptions{MonthsAhead: 5}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	all := append(slices.Clone(reps[0].Created), reps[1].Created...)
	slices.Sort(all)
	if len(all) != 6 || slices.Compact(slices.Clone(all))[5] != "activity_logs_y2033m08" {
		t.Fatalf("two runs created %v between them, want each of the 6 months once", all)
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'activity_logs'::regclass AND inhrelid::regclass::text LIKE 'activity_logs_y2033%'"); n != 6 {
		t.Errorf("%d partitions for 2033, want 6", n)
	}
}

func TestEnsureLockTimeout(t *testing.T) {
	t.Parallel()
	pool, _ := newDB(t)
	// A long transaction that has written to activity_logs holds ROW EXCLUSIVE on it.
	tx, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(t.Context(), "INSERT INTO activity_logs (action, resource_type) VALUES ('long', 'tx')"); err != nil {
		t.Fatal(err)
	}
	opts := fastOpts(at(t, "2034-01-01T00:00:00Z"))
	opts.LockTimeout, opts.Retries = 100*time.Millisecond, 2
	start := time.Now()
	_, err = partitions.New(pool, opts).Ensure(t.Context(), partitions.EnsureOptions{MonthsAhead: 1})
	if !errors.Is(err, partitions.ErrLockTimeout) {
		t.Fatalf("ensure under a long transaction: %v, want ErrLockTimeout", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("gave up after %s; lock_timeout and retries should bound it", el)
	}
	t.Logf("error: %v", err)
	if n := queryInt(t, pool, "SELECT count(*) FROM pg_class WHERE relname LIKE 'activity_logs_y2034%'"); n != 0 {
		t.Errorf("%d tables left behind by the failed attempts", n)
	}
	_ = tx.Rollback(t.Context())
	// Once the transaction ends, the same call succeeds.
	if _, err := partitions.New(pool, opts).Ensure(t.Context(), partitions.EnsureOptions{MonthsAhead: 1}); err != nil {
		t.Fatalf("after the long transaction ended: %v", err)
	}
}

func TestEnsureAdvisoryLockHeld(t *testing.T) {
	t.Parallel()
	pool, _ := newDB(t)
	holder := partitions.New(pool, fastOpts(nil))
	held, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- holder.WithTableLock(t.Context(), partitions.MonthlyTable, func(ctx context.Context, _ *pgx.Conn) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	opts := fastOpts(nil)
	opts.LockWait = 400 * time.Millisecond
	start := time.Now()
	_, err := partitions.New(pool, opts).Ensure(t.Context(), partitions.EnsureOptions{})
	close(release)
	if !errors.Is(err, partitions.ErrLocked) {
		t.Fatalf("second runner: %v, want ErrLocked", err)
	}
	if el := time.Since(start); el < 400*time.Millisecond {
		t.Errorf("gave up after %s, before --lock-wait", el)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestEnsureReportsTheHorizon: the report's horizon counts every month covered
// after the current one, beyond the window of the run too, as Health does.
func TestEnsureReportsTheHorizon(t *testing.T) {
	t.Parallel()
	pool, _ := newDB(t)
	m := partitions.New(pool, fastOpts(at(t, "2031-05-10T12:00:00Z")))
	rep, err := m.Ensure(t.Context(), partitions.EnsureOptions{MonthsAhead: 5})
	if err != nil {
		t.Fatal(err)
	}
	if rep.HorizonMonths != 5 {
		t.Fatalf("horizon after premaking 5 months: %d", rep.HorizonMonths)
	}
	rep, err = m.Ensure(t.Context(), partitions.EnsureOptions{MonthsAhead: 1})
	if err != nil {
		t.Fatal(err)
	}
	h, err := m.Health(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if rep.HorizonMonths != 5 || h.HorizonMonths != 5 {
		t.Fatalf("horizon with a 1-month window: report %d, health %d; want 5 (the partitions exist)", rep.HorizonMonths, h.HorizonMonths)
	}
	// A gap: the month after next dropped, the horizon stops before it.
	if _, err := pool.Exec(t.Context(), "DROP TABLE activity_logs_y2031m07"); err != nil {
		t.Fatal(err)
	}
	if h, err = m.Health(t.Context()); err != nil || h.HorizonMonths != 1 {
		t.Fatalf("horizon with a gap in July: %d (%v), want 1", h.HorizonMonths, err)
	}
}
