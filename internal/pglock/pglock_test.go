package pglock_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quantx/quantx-db/internal/pglock"
	"github.com/quantx/quantx-db/internal/testenv"
)

// newPool returns a pool on a fresh database of the shared test server.
func newPool(t *testing.T, maxConns int32) *pgxpool.Pool {
	t.Helper()
	pool, _ := newPoolURL(t, maxConns)
	return pool
}

func newPoolURL(t *testing.T, maxConns int32) (*pgxpool.Pool, string) {
	t.Helper()
	db := testenv.Postgres(t)
	return connectPool(t, db.URL, maxConns), db.URL
}

func connectPool(t *testing.T, url string, maxConns int32) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func acquire(t *testing.T, pool *pgxpool.Pool) *pgxpool.Conn {
	t.Helper()
	c, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// holders counts the sessions that hold l in the pool's database.
func holders(t *testing.T, pool *pgxpool.Pool, l pglock.Lock) int {
	t.Helper()
	key := uint64(l.Key)
	var n int
	err := pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 1`, int64(key>>32), int64(key&0xffffffff)).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// signal is a slog handler that closes a channel the first time a message is logged.
type signal struct {
	msg  string
	once atomic.Bool
	ch   chan struct{}
}

func onLog(msg string) (*slog.Logger, <-chan struct{}) {
	s := &signal{msg: msg, ch: make(chan struct{})}
	return slog.New(s), s.ch
}

func (s *signal) Enabled(context.Context, slog.Level) bool { return true }
func (s *signal) Handle(_ context.Context, r slog.Record) error {
	if r.Message == s.msg && s.once.CompareAndSwap(false, true) {
		close(s.ch)
	}
	return nil
}
func (s *signal) WithAttrs([]slog.Attr) slog.Handler { return s }
func (s *signal) WithGroup(string) slog.Handler      { return s }

// holdLock holds l on its own connection from pool until the returned
// release is called (or the test ends).
func holdLock(t *testing.T, pool *pgxpool.Pool, l pglock.Lock) (release func()) {
	t.Helper()
	held, done, finished := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		finished <- pglock.With(context.Background(), acquire(t, pool), l, pglock.Options{}, func(context.Context) error {
			close(held)
			<-done
			return nil
		})
	}()
	select {
	case <-held:
	case err := <-finished:
		t.Fatalf("hold %s: %v", l.Name, err)
	}
	var once atomic.Bool
	release = func() {
		if once.CompareAndSwap(false, true) {
			close(done)
			if err := <-finished; err != nil {
				t.Errorf("release %s: %v", l.Name, err)
			}
		}
	}
	t.Cleanup(release)
	return release
}

func TestNewLockKeepsTheKeysOfEarlierReleases(t *testing.T) {
	// FNV-1a of these ids, as migrations/lock.go and partitions/lock.go
	// derived them before this package existed: an older and a newer
	// quantx-db must still exclude each other during a rollout.
	for id, want := range map[string]int64{
		"quantx-db/migrations:public.schema_migrations": fnv64a("quantx-db/migrations:public.schema_migrations"),
		"quantx-db/partitions:public.activity_logs":     fnv64a("quantx-db/partitions:public.activity_logs"),
	} {
		if got := pglock.NewLock(id, "x").Key; got != want {
			t.Errorf("key of %s = %d, want %d", id, got, want)
		}
	}
}

// fnv64a is FNV-1a 64 written out from its definition.
func fnv64a(s string) int64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return int64(h)
}

// TestSecondSessionWaitsThenGetsHeldError: while one session holds the lock
// another polls for Wait, fails with a *HeldError naming the lock, and gets
// the lock once the first lets go. Wait 0 tries once.
func TestSecondSessionWaitsThenGetsHeldError(t *testing.T) {
	t.Parallel()
	pool := newPool(t, 4)
	l := pglock.NewLock("pglock-test/two-sessions", "test lock")
	release := holdLock(t, pool, l)

	b := acquire(t, pool)
	defer b.Release()
	if held, err := pglock.HeldElsewhere(t.Context(), b, l); err != nil || !held {
		t.Fatalf("HeldElsewhere = %v, %v; want true", held, err)
	}
	start := time.Now()
	err := pglock.Acquire(t.Context(), b.Conn(), l, pglock.Options{Wait: 300 * time.Millisecond})
	he, ok := errors.AsType[*pglock.HeldError](err)
	if !ok || !errors.Is(err, pglock.ErrLocked) || he.Lock != "test lock" || he.Waited != 300*time.Millisecond {
		t.Fatalf("second session: %v, want a *HeldError for test lock after 300ms", err)
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("gave up after %s, before Wait", el)
	}
	if err := pglock.Acquire(t.Context(), b.Conn(), l, pglock.Options{}); !errors.Is(err, pglock.ErrLocked) {
		t.Fatalf("Wait 0 while held: %v, want ErrLocked", err)
	}
	release()
	if err := pglock.Acquire(t.Context(), b.Conn(), l, pglock.Options{}); err != nil {
		t.Fatalf("Wait 0 once free: %v", err)
	}
	if n := holders(t, pool, l); n != 1 {
		t.Errorf("%d holders, want 1", n)
	}
	if _, err := b.Exec(t.Context(), "SELECT pg_advisory_unlock($1)", l.Key); err != nil {
		t.Fatal(err)
	}
}

// TestCancelWhileWaiting: a waiter whose context is cancelled stops at once
// with the context's error, never runs fn, and leaves holding nothing.
func TestCancelWhileWaiting(t *testing.T) {
	t.Parallel()
	pool := newPool(t, 4)
	l := pglock.NewLock("pglock-test/cancel-wait", "test lock")
	release := holdLock(t, pool, l)

	log, waiting := onLog("waiting for lock")
	ctx, cancel := context.WithCancel(t.Context())
	go func() { <-waiting; cancel() }()
	ran := false
	start := time.Now()
	err := pglock.With(ctx, acquire(t, pool), l, pglock.Options{Wait: time.Hour, Logger: log}, func(context.Context) error {
		ran = true
		return nil
	})
	if !errors.Is(err, context.Canceled) || errors.Is(err, pglock.ErrLocked) || ran {
		t.Fatalf("cancelled waiter: %v (fn ran: %v), want context.Canceled", err, ran)
	}
	if el := time.Since(start); el > 30*time.Second {
		t.Errorf("cancelled waiter returned after %s", el)
	}
	if n := holders(t, pool, l); n != 1 {
		t.Errorf("%d holders after the waiter gave up, want 1 (the first session)", n)
	}
	release()
	if n := holders(t, pool, l); n != 0 {
		t.Errorf("%d holders after both are done, want 0", n)
	}
}

// TestReleaseSurvivesCancellation: after fn returns with its context
// cancelled (Ctrl-C), the lock is released anyway, on the same session
// (not by closing it), and the session is reset: the pool's next user
// neither finds the lock held nor inherits a setting.
func TestReleaseSurvivesCancellation(t *testing.T) {
	t.Parallel()
	pool, url := newPoolURL(t, 1) // one connection: the next Acquire gets the same session
	other := connectPool(t, url, 1)
	l := pglock.NewLock("pglock-test/cancel-release", "test lock")
	ctx, cancel := context.WithCancel(t.Context())
	c := acquire(t, pool)
	var pid uint32
	err := pglock.With(ctx, c, l, pglock.Options{}, func(ctx context.Context) error {
		pid = c.Conn().PgConn().PID()
		if _, err := c.Exec(ctx, "SET work_mem = '7MB'"); err != nil {
			return err
		}
		if n := holders(t, other, l); n != 1 {
			t.Errorf("%d holders inside fn, want 1", n)
		}
		cancel()
		return ctx.Err()
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("With: %v, want fn's context.Canceled", err)
	}
	if n := holders(t, other, l); n != 0 {
		t.Fatalf("%d holders after a cancelled run, want 0: the unlock must survive the cancellation", n)
	}
	next := acquire(t, pool)
	defer next.Release()
	var workMem string
	if err := next.QueryRow(t.Context(), "SHOW work_mem").Scan(&workMem); err != nil {
		t.Fatal(err)
	}
	if next.Conn().PgConn().PID() != pid || workMem == "7MB" {
		t.Fatalf("next user: backend %d (was %d), work_mem %s: want the same session, reset", next.Conn().PgConn().PID(), pid, workMem)
	}
}

// TestWaiterDoesNotBlockConcurrentIndexBuild: while a runner polls for the
// lock, the holder's CREATE INDEX CONCURRENTLY finishes. A waiter blocked in
// pg_advisory_lock would hold a snapshot that the build waits for, while it
// waits for the build's runner: the deadlock of golang-migrate #960, which
// the statement_timeout here turns into a failure instead of a hang.
//
// The build is held in its first phase (waiting for an open writer) until
// the waiter has polled during it, so the waiter's query is older than the
// build's snapshot when the build reaches its last wait.
func TestWaiterDoesNotBlockConcurrentIndexBuild(t *testing.T) {
	t.Parallel()
	pool := newPool(t, 6)
	if _, err := pool.Exec(t.Context(), "CREATE TABLE t (id bigint); INSERT INTO t SELECT generate_series(1, 1000)"); err != nil {
		t.Fatal(err)
	}
	writer, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Rollback(context.Background())
	if _, err := writer.Exec(t.Context(), "INSERT INTO t VALUES (0)"); err != nil {
		t.Fatal(err)
	}
	l := pglock.NewLock("pglock-test/cic", "test lock")
	log, waiting := onLog("waiting for lock")
	waiter := make(chan error, 1)
	c, wc := acquire(t, pool), acquire(t, pool)
	builder, poller := c.Conn().PgConn().PID(), wc.Conn().PgConn().PID()
	err = pglock.With(t.Context(), c, l, pglock.Options{}, func(ctx context.Context) error {
		go func() {
			waiter <- pglock.With(ctx, wc, l, pglock.Options{Wait: time.Minute, Logger: log}, func(context.Context) error { return nil })
		}()
		select {
		case <-waiting: // the second runner has polled once and found the lock held
		case err := <-waiter:
			return err
		}
		if _, err := c.Exec(ctx, "SET statement_timeout = '20s'"); err != nil {
			return err
		}
		built := make(chan error, 1)
		go func() {
			_, err := c.Exec(ctx, "CREATE INDEX CONCURRENTLY t_id ON t (id)")
			built <- err
		}()
		// Wait until the build waits for the writer and the waiter has sent
		// a query since (a poll, or a blocking pg_advisory_lock).
		deadline := time.Now().Add(20 * time.Second)
		var since time.Time
		for {
			var buildWaits bool
			var polled time.Time
			var blocked bool
			err := pool.QueryRow(ctx, `SELECT
				EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event = 'virtualxid'),
				COALESCE((SELECT query_start FROM pg_stat_activity WHERE pid = $2), 'epoch'),
				EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $2 AND wait_event = 'advisory')`, builder, poller).Scan(&buildWaits, &polled, &blocked)
			if err != nil {
				return err
			}
			if buildWaits && since.IsZero() {
				since = time.Now()
			}
			if !since.IsZero() && (blocked || polled.After(since)) {
				break
			}
			if time.Now().After(deadline) {
				return errors.New("the build never waited for the writer, or the waiter never polled")
			}
			time.Sleep(20 * time.Millisecond)
		}
		_ = writer.Rollback(ctx)
		return <-built
	})
	if err != nil {
		t.Fatalf("the lock holder's CREATE INDEX CONCURRENTLY while another runner waits: %v", err)
	}
	if err := <-waiter; err != nil {
		t.Fatalf("waiter: %v", err)
	}
	var valid bool
	if err := pool.QueryRow(t.Context(), "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_id'::regclass").Scan(&valid); err != nil || !valid {
		t.Fatalf("index valid = %v (%v)", valid, err)
	}
}

// lockedTable starts a transaction on its own connection that holds an
// ACCESS EXCLUSIVE lock on a new table t, until the returned rollback is
// called (or the test ends).
func lockedTable(t *testing.T, pool *pgxpool.Pool) (rollback func()) {
	t.Helper()
	if _, err := pool.Exec(t.Context(), "CREATE TABLE t (id bigint)"); err != nil {
		t.Fatal(err)
	}
	tx, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(t.Context(), "LOCK TABLE t IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	rollback = func() { _ = tx.Rollback(context.Background()) }
	t.Cleanup(rollback)
	return rollback
}

// TestRetryCountAndBackoff: every attempt runs under lock_timeout; after
// Retries retries the last error comes back as a *TimeoutError that keeps
// the server's 55P03, and the pauses between attempts are at least the
// doubling backoff (their upper bound, the jitter, is TestDelayBounds').
func TestRetryCountAndBackoff(t *testing.T) {
	t.Parallel()
	pool := newPool(t, 4)
	lockedTable(t, pool)
	c := acquire(t, pool)
	defer c.Release()
	o := pglock.Options{Timeout: 50 * time.Millisecond, Retries: 3, Backoff: 100 * time.Millisecond}
	var starts, ends []time.Time
	retries, err := pglock.Retry(t.Context(), o, "read t", func(ctx context.Context) error {
		starts = append(starts, time.Now())
		defer func() { ends = append(ends, time.Now()) }()
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			if err := pglock.SetTimeout(ctx, tx, o.Timeout, true); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "SELECT * FROM t")
			return err
		})
	})
	te, ok := errors.AsType[*pglock.TimeoutError](err)
	pgErr, isPG := errors.AsType[*pgconn.PgError](err)
	if !ok || !errors.Is(err, pglock.ErrLockTimeout) || te.Attempts != 4 || retries != 3 || len(starts) != 4 || !isPG || pgErr.Code != "55P03" {
		t.Fatalf("Retry: retries %d, %d attempts run, err %v; want 3 retries of 4 attempts and a *TimeoutError over 55P03", retries, len(starts), err)
	}
	if !strings.HasPrefix(err.Error(), "read t: lock not granted within lock_timeout after 4 attempt(s): ") {
		t.Errorf("message %q", err)
	}
	for i := 1; i < len(starts); i++ {
		pause, want := starts[i].Sub(ends[i-1]), o.Backoff<<(i-1)
		if pause < want {
			t.Errorf("pause before retry %d: %s, want at least %s", i, pause, want)
		}
	}
	for i, s := range starts {
		if el := ends[i].Sub(s); el < o.Timeout {
			t.Errorf("attempt %d gave up after %s, before lock_timeout", i+1, el)
		}
	}
}

// TestInTxRetriesUntilTheLockGoes: a transaction that hit lock_timeout is
// run again, whole, and succeeds once the lock is gone.
func TestInTxRetriesUntilTheLockGoes(t *testing.T) {
	t.Parallel()
	pool := newPool(t, 4)
	rollback := lockedTable(t, pool)
	c := acquire(t, pool)
	defer c.Release()
	runs := 0
	retries, err := pglock.InTx(t.Context(), c.Conn(), pglock.Options{Timeout: 50 * time.Millisecond, Retries: 5, Backoff: 10 * time.Millisecond}, "insert", func(tx pgx.Tx) error {
		runs++
		if runs == 3 {
			rollback() // the long transaction ends before the third attempt
		}
		_, err := tx.Exec(t.Context(), "INSERT INTO t VALUES (1)")
		return err
	})
	if err != nil || retries != 2 || runs != 3 {
		t.Fatalf("InTx: %v after %d run(s), %d retries; want success on the third", err, runs, retries)
	}
	var n int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM t").Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d rows (%v), want 1: the failed attempts must have rolled back", n, err)
	}
}

// TestNoRetryOnceCancelled: a cancellation during the pause ends the loop
// at once, and an attempt that failed on a lock after the cancellation is
// not repeated; both return the context's error, not ErrLockTimeout.
func TestNoRetryOnceCancelled(t *testing.T) {
	t.Parallel()
	pool := newPool(t, 4)
	lockedTable(t, pool)
	c := acquire(t, pool)
	defer c.Release()
	read := func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			if err := pglock.SetTimeout(ctx, tx, 50*time.Millisecond, true); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "SELECT * FROM t")
			return err
		})
	}

	t.Run("during the pause", func(t *testing.T) {
		log, retrying := onLog("lock not granted, retrying")
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go func() { <-retrying; cancel() }()
		attempts := 0
		start := time.Now()
		_, err := pglock.Retry(ctx, pglock.Options{Retries: 5, Backoff: time.Minute, Logger: log}, "read t", func(ctx context.Context) error {
			attempts++
			return read(ctx)
		})
		if !errors.Is(err, context.Canceled) || errors.Is(err, pglock.ErrLockTimeout) || attempts != 1 {
			t.Fatalf("cancelled during the pause: %v after %d attempt(s), want context.Canceled after 1", err, attempts)
		}
		if _, isPG := errors.AsType[*pgconn.PgError](err); !isPG {
			t.Errorf("the last attempt's error is lost: %v", err)
		}
		if el := time.Since(start); el > 30*time.Second {
			t.Errorf("returned after %s, not at the cancellation", el)
		}
	})
	t.Run("before the retry", func(t *testing.T) {
		log, retrying := onLog("lock not granted, retrying")
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		attempts := 0
		_, err := pglock.Retry(ctx, pglock.Options{Retries: 5, Backoff: time.Millisecond, Logger: log}, "read t", func(ctx context.Context) error {
			attempts++
			err := read(ctx)
			cancel() // Ctrl-C arrives as the attempt fails
			return err
		})
		select {
		case <-retrying:
			t.Error("a retry was announced after the cancellation")
		default:
		}
		if !errors.Is(err, context.Canceled) || attempts != 1 {
			t.Fatalf("cancelled as the attempt failed: %v after %d attempt(s), want context.Canceled after 1", err, attempts)
		}
	})
}

// TestExecResetsTheSessionTimeout: Exec sets lock_timeout for its statement
// and puts the session's value back; an error that is not a lock error is
// returned at once, named by op.
func TestExecResetsTheSessionTimeout(t *testing.T) {
	t.Parallel()
	pool := newPool(t, 1)
	c := acquire(t, pool)
	defer c.Release()
	var before, after string
	if err := c.QueryRow(t.Context(), "SHOW lock_timeout").Scan(&before); err != nil {
		t.Fatal(err)
	}
	retries, err := pglock.Exec(t.Context(), c.Conn(), pglock.Options{Timeout: time.Second, Retries: 3}, "create table", "CREATE TABLE nope (")
	if _, isPG := errors.AsType[*pgconn.PgError](err); !isPG || retries != 0 || !strings.HasPrefix(err.Error(), "create table: ") {
		t.Fatalf("syntax error: %v after %d retries", err, retries)
	}
	if err := c.QueryRow(t.Context(), "SHOW lock_timeout").Scan(&after); err != nil || after != before {
		t.Fatalf("lock_timeout after Exec = %q (%v), want %q", after, err, before)
	}
}
