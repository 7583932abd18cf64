package migrations_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quantx/quantx-db/internal/testenv"
	"github.com/quantx/quantx-db/migrations"
)

// waitFor polls cond until it holds; a minute without it fails the test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitingBuild returns the pid of the backend running a CREATE INDEX
// CONCURRENTLY of index that waits on a lock (another transaction, or an
// older snapshot), once there is one.
func waitingBuild(t *testing.T, pool *pgxpool.Pool, index string) int32 {
	t.Helper()
	return waitingStatement(t, pool, "CREATE INDEX CONCURRENTLY", index)
}

// waitingStatement returns the pid of the backend running a statement that
// contains verb and name and waits on a lock, once there is one.
func waitingStatement(t *testing.T, pool *pgxpool.Pool, verb, name string) int32 {
	t.Helper()
	var pid int32
	waitFor(t, verb+" "+name+" to wait", func() bool {
		err := pool.QueryRow(context.Background(), `SELECT pid FROM pg_stat_activity
			WHERE query ILIKE '%'||$1||'%' AND query LIKE '%'||$2||'%' AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`, verb, name).Scan(&pid)
		return err == nil
	})
	return pid
}

// cleanSchema is pg_dump -s of a database that ran every migration without
// interference: the schema every fault scenario must end with.
func cleanSchema(t *testing.T) string {
	t.Helper()
	_, db := migratedPool(t, 0)
	return schemaDump(t, db.URL, "schema_migrations", "quantx_migration_history")
}

func invalidIndexes(t *testing.T, pool *pgxpool.Pool) int64 {
	t.Helper()
	return queryInt(t, pool, "SELECT count(*) FROM pg_index WHERE NOT indisvalid")
}

// terminate ends the session pid and waits until it is gone: until then its
// locks (the migration lock among them) are still held, and status rightly
// says "running".
// ordersWriter opens a transaction that holds ROW EXCLUSIVE on orders, as an
// application's open write does: a concurrent index build on orders waits for
// it. It is rolled back when the test ends, or earlier by the test.
func ordersWriter(t *testing.T, pool *pgxpool.Pool) pgx.Tx {
	t.Helper()
	tx, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	if _, err := tx.Exec(t.Context(), "LOCK TABLE orders IN ROW EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	return tx
}

func terminate(t *testing.T, pool *pgxpool.Pool, pid int32) {
	t.Helper()
	if _, err := pool.Exec(t.Context(), "SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the terminated session to end", func() bool {
		return queryInt(t, pool, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid) == 0
	})
}

// TestLongSnapshotDuring0008: a report holding a snapshot older than 0008's
// CREATE INDEX CONCURRENTLY for longer than lock_timeout. The build waits for
// it instead of failing into an INVALID index that IF NOT EXISTS then skips
// and version 8 is recorded over (the defect of issue 11): the version is
// recorded only once the index is valid, and the schema is a clean run's.
func TestLongSnapshotDuring0008(t *testing.T) {
	t.Parallel()
	want := cleanSchema(t)
	pool, db := migratedPool(t, 7)
	const lockTimeout = 300 * time.Millisecond
	r := newRunner(t, pool, migrations.Files(), migrations.Options{LockTimeout: lockTimeout, LockRetries: 3, RetryBackoff: 50 * time.Millisecond})
	// The report: REPEATABLE READ, and it has read something, so it holds a snapshot.
	report, err := pool.BeginTx(t.Context(), pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer report.Rollback(context.Background())
	if _, err := report.Exec(t.Context(), "SELECT count(*) FROM users"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := r.Up(context.Background(), 0); done <- err }()
	pid := waitingBuild(t, pool, "idx_orders_retention")
	// Watch the build wait for the report far past lock_timeout. The old engine
	// returned here, having recorded version 8 over an INVALID index.
	waitFor(t, "the build to wait 8x lock_timeout", func() bool {
		select {
		case err := <-done:
			v, _ := version(t, pool)
			t.Fatalf("up returned while the report held its snapshot: %v; version %d, %d INVALID index(es)", err, v, invalidIndexes(t, pool))
		default:
		}
		var waited time.Duration
		err := pool.QueryRow(t.Context(), "SELECT now() - query_start FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'", pid).Scan(&waited)
		return err == nil && waited > 8*lockTimeout
	})
	if v, dirty := version(t, pool); v != 8 || !dirty {
		t.Fatalf("during the build: version (%d, %v), want 8 dirty", v, dirty)
	}
	st, err := r.Status(t.Context())
	if err != nil || st.Migrations[7].State != migrations.StateRunning || st.Migrations[7].Applied || !st.Running {
		t.Fatalf("status during the build: %v %+v", err, st.Migrations[7])
	}
	if err := report.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("up: %v", err)
	}
	if v, dirty := version(t, pool); v != lastVersion(t) || dirty {
		t.Fatalf("after: version (%d, %v)", v, dirty)
	}
	if n := invalidIndexes(t, pool); n != 0 {
		t.Fatalf("%d INVALID index(es)", n)
	}
	if got := schemaDump(t, db.URL, "schema_migrations", "quantx_migration_history"); got != want {
		t.Fatalf("schema differs from a clean run:\n%s", firstDiff(want, got))
	}
}

// TestInvalidLeftoverIsRebuilt: an INVALID idx_orders_retention is already
// there when 0008 runs (a build that timed out under an older release).
// IF NOT EXISTS alone would skip it; it is dropped and built again.
func TestInvalidLeftoverIsRebuilt(t *testing.T) {
	t.Parallel()
	pool, _ := migratedPool(t, 7)
	r := newRunner(t, pool, migrations.Files(), migrations.Options{})
	// Make the leftover the way it happens: the build times out waiting for a snapshot.
	report, err := pool.BeginTx(t.Context(), pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer report.Rollback(context.Background())
	if _, err := report.Exec(t.Context(), "SELECT count(*) FROM users"); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(t.Context(), pool.Config().ConnConfig.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), "SET lock_timeout = '200ms'"); err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(t.Context(), "CREATE INDEX CONCURRENTLY idx_orders_retention ON orders (created_at)")
	if err == nil || !strings.Contains(err.Error(), "lock timeout") {
		t.Fatalf("making the leftover: %v", err)
	}
	report.Rollback(t.Context())
	if n := invalidIndexes(t, pool); n != 1 {
		t.Fatalf("%d INVALID indexes, want the leftover", n)
	}
	st, err := r.Status(t.Context())
	if err != nil || len(st.InvalidIndexes) != 1 || st.InvalidIndexes[0].Version != 8 || !st.InvalidIndexes[0].Rebuild {
		t.Fatalf("status does not attribute the leftover to 0008: %v %+v", err, st.InvalidIndexes)
	}
	if _, err := r.Up(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	if n := invalidIndexes(t, pool); n != 0 {
		t.Fatalf("%d INVALID index(es) after up", n)
	}
	def := ""
	if err := pool.QueryRow(t.Context(), "SELECT pg_get_indexdef('idx_orders_retention'::regclass)").Scan(&def); err != nil || !strings.Contains(def, "WHERE") {
		t.Fatalf("idx_orders_retention is the leftover's definition, not 0008's: %q %v", def, err)
	}
}

// TestAppliedInvalidIndexIsReportedAndRebuilt: a database that an older
// release left at version 9 with 0008's index INVALID. Status and validate
// say so, and up builds it again without changing the version.
func TestAppliedInvalidIndexIsReportedAndRebuilt(t *testing.T) {
	t.Parallel()
	pool, _ := migratedPool(t, 0)
	r := newRunner(t, pool, migrations.Files(), migrations.Options{})
	if _, err := pool.Exec(t.Context(), "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'idx_orders_retention'::regclass"); err != nil {
		t.Fatal(err)
	}
	st, err := r.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if m := st.Migrations[7]; m.State != migrations.StateInvalidIndex || !m.Applied || len(m.InvalidIndexes) != 1 {
		t.Fatalf("migration 8: %+v", m)
	}
	val, err := r.Validate(t.Context())
	if err != nil || len(val.Findings) != 1 || val.Findings[0].Kind != "invalid_index" || val.Findings[0].Version != 8 {
		t.Fatalf("validate: %v %+v", err, val.Findings)
	}
	p, err := r.PlanFor(t.Context(), migrations.Target{Direction: migrations.Up})
	if err != nil || len(p.Steps) != 1 || len(p.Steps[0].Rebuild) != 1 || p.ToVersion != 9 {
		t.Fatalf("plan: %v %+v", err, p)
	}
	rep, err := r.Up(t.Context(), 0)
	if err != nil || len(rep.Applied) != 1 || rep.Applied[0].Version != 8 || len(rep.Applied[0].Rebuilt) != 1 || rep.ToVersion != 9 {
		t.Fatalf("up: %v %+v", err, rep)
	}
	if n := invalidIndexes(t, pool); n != 0 {
		t.Fatalf("%d INVALID index(es) after the rebuild", n)
	}
	if st, err := r.Status(t.Context()); err != nil || st.Migrations[7].State != migrations.StateApplied {
		t.Fatalf("status after the rebuild: %v %+v", err, st.Migrations[7])
	}
}

// TestResumeAfterLostConnection: the session running statement 3 of a
// no-transaction file is terminated (as a crash of the client or a failover
// would end it). Nothing false is recorded, and the next up resumes at
// statement 3: statement 2, which cannot run twice, does not run again, and
// statement 3's INVALID leftover is replaced.
func TestResumeAfterLostConnection(t *testing.T) {
	t.Parallel()
	pool, _ := migratedPool(t, 0)
	dir := copySource(t)
	writeFile(t, dir, "0100_three.up.sql", migrations.NoTransactionDirective+`
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_test_status ON users (status);
CREATE TABLE test_once (id int);
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_test_symbol ON orders (symbol);
`)
	r := newRunner(t, pool, os.DirFS(dir), migrations.Options{})
	// A writer's open transaction on orders holds statement 3 in its first wait.
	writer := ordersWriter(t, pool)
	done := make(chan error, 1)
	go func() { _, err := r.Up(context.Background(), 0); done <- err }()
	pid := waitingBuild(t, pool, "idx_test_symbol")
	terminate(t, pool, pid)
	err := <-done
	var se *migrations.StepError
	if !errors.As(err, &se) || !se.Lost || !se.Dirty || se.Statement != 3 || se.Done != 2 {
		t.Fatalf("up whose session was terminated: %v", err)
	}
	if v, dirty := version(t, pool); v != 100 || !dirty {
		t.Fatalf("version (%d, %v), want 100 dirty", v, dirty)
	}
	st, err := r.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	last := st.Migrations[len(st.Migrations)-1]
	if in := st.Interrupted; last.State != migrations.StateDirty || last.Applied || in == nil || !in.Resumable ||
		in.StatementsDone != 2 || in.Statements != 3 || in.Error != "" {
		t.Fatalf("status: %+v, interrupted %+v", last, st.Interrupted)
	}
	leftover := queryInt(t, pool, "SELECT 'idx_test_symbol'::regclass::oid::bigint")
	writer.Rollback(t.Context())
	rep, err := r.Up(t.Context(), 0)
	if err != nil || len(rep.Applied) != 1 || !rep.Applied[0].Resumed || rep.Applied[0].ResumedAt != 2 {
		t.Fatalf("resume: %v %+v", err, rep)
	}
	if v, dirty := version(t, pool); v != 100 || dirty {
		t.Fatalf("after resume: (%d, %v)", v, dirty)
	}
	if n := invalidIndexes(t, pool); n != 0 {
		t.Fatalf("%d INVALID index(es) after resume", n)
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM pg_index WHERE indexrelid = 'idx_test_symbol'::regclass AND indexrelid <> $1::bigint::oid", leftover); n != 1 {
		t.Fatal("the INVALID leftover of statement 3 was not replaced")
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM quantx_migration_history WHERE version = 100 AND success AND statements_done = 3"); n != 1 {
		t.Fatalf("%d successful history rows for 100", n)
	}
}

// TestInterruptedDownIsFinishedByDown: the session of a no-transaction
// down file is terminated. Up refuses (it would go the other way) and names
// the interrupted file; down 1 finishes reverting it.
func TestInterruptedDownIsFinishedByDown(t *testing.T) {
	t.Parallel()
	pool, _ := migratedPool(t, 0)
	dir := copySource(t)
	writeFile(t, dir, "0100_symbol.up.sql", migrations.NoTransactionDirective+"\nCREATE INDEX CONCURRENTLY IF NOT EXISTS idx_test_symbol ON orders (symbol);\n")
	writeFile(t, dir, "0100_symbol.down.sql", migrations.NoTransactionDirective+"\nDROP INDEX CONCURRENTLY IF EXISTS idx_test_symbol;\n")
	r := newRunner(t, pool, os.DirFS(dir), migrations.Options{})
	if _, err := r.Up(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	writer := ordersWriter(t, pool)
	done := make(chan error, 1)
	go func() { _, err := r.Down(context.Background(), 1); done <- err }()
	pid := waitingStatement(t, pool, "DROP INDEX CONCURRENTLY", "idx_test_symbol")
	terminate(t, pool, pid)
	var se *migrations.StepError
	if err := <-done; !errors.As(err, &se) || !se.Lost || se.Direction != migrations.Down {
		t.Fatalf("down whose session was terminated: %v", err)
	}
	writer.Rollback(t.Context())
	prev := lastVersion(t)
	if v, dirty := version(t, pool); v != prev || !dirty {
		t.Fatalf("version (%d, %v), want %d dirty", v, dirty, prev)
	}
	st, err := r.Status(t.Context())
	if err != nil || st.Interrupted == nil || st.Interrupted.Direction != migrations.Down || !st.Interrupted.Resumable ||
		st.Migrations[len(st.Migrations)-1].State != migrations.StateDirty {
		t.Fatalf("status: %v %+v %+v", err, st.Interrupted, st.Migrations[len(st.Migrations)-1])
	}
	var de *migrations.DirtyError
	if _, err := r.Up(t.Context(), 0); !errors.As(err, &de) || !de.Interruption.Resumable || de.Interruption.Direction != migrations.Down {
		t.Fatalf("up on an interrupted down: %v", err)
	}
	rep, err := r.Down(t.Context(), 1)
	if err != nil || len(rep.Applied) != 1 || !rep.Applied[0].Resumed || rep.ToVersion != prev {
		t.Fatalf("down 1 after the interruption: %v %+v", err, rep)
	}
	if v, dirty := version(t, pool); v != prev || dirty {
		t.Fatalf("after: (%d, %v)", v, dirty)
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM pg_class WHERE relname = 'idx_test_symbol'"); n != 0 {
		t.Fatal("idx_test_symbol is still there")
	}
}

// TestNewerDatabaseIsReportedAndRefused: a newer release migrated the
// database to a version this binary does not ship. Status says so; up, down
// and plan refuse, naming both versions.
func TestNewerDatabaseIsReportedAndRefused(t *testing.T) {
	t.Parallel()
	pool, _ := migratedPool(t, 0)
	dir := copySource(t)
	writeFile(t, dir, "0042_future.up.sql", "CREATE TABLE test_future (id int);\n")
	writeFile(t, dir, "0042_future.down.sql", "DROP TABLE test_future;\n")
	if _, err := newRunner(t, pool, os.DirFS(dir), migrations.Options{}).Up(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, pool, migrations.Files(), migrations.Options{})
	st, err := r.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	last := st.Migrations[len(st.Migrations)-1]
	if len(st.UnknownApplied) != 1 || st.UnknownApplied[0] != 42 || last.Version != 42 || last.State != migrations.StateUnknownApplied ||
		last.Name != "future" || st.BinaryVersion != lastVersion(t) {
		t.Fatalf("status: unknown %v, last %+v, binary %d", st.UnknownApplied, last, st.BinaryVersion)
	}
	for name, run := range map[string]func() error{
		"up":   func() error { _, err := r.Up(t.Context(), 0); return err },
		"down": func() error { _, err := r.Down(t.Context(), 1); return err },
		"plan": func() error {
			_, err := r.PlanFor(t.Context(), migrations.Target{Direction: migrations.Up})
			return err
		},
	} {
		err := run()
		if !errors.Is(err, migrations.ErrDatabaseNewer) || !strings.Contains(err.Error(), "version 42") || !strings.Contains(err.Error(), "is 9") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM pg_tables WHERE tablename = 'test_future'"); n != 1 {
		t.Fatal("the newer migration's table is gone")
	}
}

// TestServerRestartDuringUp: PostgreSQL restarts while 0008's index build
// runs. Up fails with an error that says the connection was lost, nothing is
// recorded as applied, status shows the version dirty (resumable), and the
// next up finishes to a clean run's schema. Private cluster: the shared
// server is never restarted.
func TestServerRestartDuringUp(t *testing.T) {
	t.Parallel()
	c := testenv.NewCluster(t, testenv.ClusterOptions{})
	clean, db := c.Database(t), c.Database(t)
	cleanPool := connectPool(t, clean.URL)
	if _, err := newRunner(t, cleanPool, migrations.Files(), migrations.Options{}).Up(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	want := schemaDump(t, clean.URL, "schema_migrations", "quantx_migration_history")

	pool := connectPool(t, db.URL)
	r := newRunner(t, pool, migrations.Files(), migrations.Options{})
	if _, err := r.Up(t.Context(), 7); err != nil {
		t.Fatal(err)
	}
	// The writer has its own connection: it dies with the server, and must not
	// keep one of the pool's connections checked out.
	writer, err := pgx.Connect(t.Context(), db.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close(context.Background())
	if _, err := writer.Exec(t.Context(), "BEGIN; LOCK TABLE orders IN ROW EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := r.Up(context.Background(), 0); done <- err }()
	waitingBuild(t, pool, "idx_orders_retention")
	c.Restart(t)
	err = <-done
	var se *migrations.StepError
	if !errors.As(err, &se) || !se.Lost || se.Version != 8 || !strings.Contains(err.Error(), "connection lost") {
		t.Fatalf("up across a restart: %v", err)
	}
	t.Logf("the error of up across a restart: %v", err)
	pool.Close()
	pool = connectPool(t, db.URL) // the old pool's connections died with the server
	r = newRunner(t, pool, migrations.Files(), migrations.Options{})
	st, err := r.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if m := st.Migrations[7]; m.State != migrations.StateDirty || m.Applied || st.Interrupted == nil || !st.Interrupted.Resumable {
		t.Fatalf("status after the restart: %+v %+v", m, st.Interrupted)
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM quantx_migration_history WHERE version >= 8 AND success"); n != 0 {
		t.Fatalf("%d successful history rows for 8 or later", n)
	}
	if _, err := r.Up(t.Context(), 0); err != nil {
		t.Fatalf("up after the restart: %v", err)
	}
	if v, dirty := version(t, pool); v != lastVersion(t) || dirty {
		t.Fatalf("after: (%d, %v)", v, dirty)
	}
	if got := schemaDump(t, db.URL, "schema_migrations", "quantx_migration_history"); got != want {
		t.Fatalf("schema differs from a clean run:\n%s", firstDiff(want, got))
	}
}

func connectPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// TestRunningIsPerDatabase: a migration in progress in one database shows
// as running there and nowhere else (advisory locks are per database, but
// pg_locks lists every database's).
func TestRunningIsPerDatabase(t *testing.T) {
	t.Parallel()
	poolA, _ := newPool(t)
	poolB, _ := newPool(t)
	dir := copySource(t)
	writeFile(t, dir, "0100_symbol.up.sql", migrations.NoTransactionDirective+"\nCREATE INDEX CONCURRENTLY IF NOT EXISTS idx_test_symbol ON orders (symbol);\n")
	rA := newRunner(t, poolA, os.DirFS(dir), migrations.Options{})
	rB := newRunner(t, poolB, os.DirFS(dir), migrations.Options{})
	for _, r := range []*migrations.Runner{rA, rB} {
		if _, err := r.Up(t.Context(), len(r.Migrations())-1); err != nil {
			t.Fatal(err)
		}
	}
	writer := ordersWriter(t, poolA)
	done := make(chan error, 1)
	go func() { _, err := rA.Up(context.Background(), 0); done <- err }()
	waitingBuild(t, poolA, "idx_test_symbol")
	stA, errA := rA.Status(t.Context())
	stB, errB := rB.Status(t.Context())
	writer.Rollback(t.Context())
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if errA != nil || errB != nil || !stA.Running || stB.Running || stB.Migrations[len(stB.Migrations)-1].State != migrations.StatePending {
		t.Fatalf("A running %v (%v), B running %v (%v) %+v", stA.Running, errA, stB.Running, errB, stB.Migrations[len(stB.Migrations)-1])
	}
}

// TestOlderHistoryTableIsUpgraded: a history table made by an older release
// (no statements_sha256) is read by status as is, and the next run adds the
// column; a dirty version it left with a failure row is resumed when the
// file is unchanged (checksum).
func TestOlderHistoryTableIsUpgraded(t *testing.T) {
	t.Parallel()
	pool, _ := newPool(t)
	dir := copySource(t)
	writeFile(t, dir, "0100_symbol.up.sql", migrations.NoTransactionDirective+"\nCREATE INDEX CONCURRENTLY IF NOT EXISTS idx_test_symbol ON orders (symbol);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS idx_test_broker ON orders (broker);\n")
	r := newRunner(t, pool, os.DirFS(dir), migrations.Options{})
	if _, err := r.Up(t.Context(), len(r.Migrations())-1); err != nil {
		t.Fatal(err)
	}
	sum := r.Migrations()[len(r.Migrations())-1].Up.Checksum
	// What the older release left after statement 2 failed: the first index, a failure row, dirty at 100.
	for _, sql := range []string{
		"ALTER TABLE quantx_migration_history DROP COLUMN statements_sha256",
		"CREATE INDEX idx_test_symbol ON orders (symbol)",
		"INSERT INTO quantx_migration_history (version, name, direction, checksum, no_transaction, started_at, success, statements_done, error) VALUES (100, 'symbol', 'up', '" + sum + "', true, now(), false, 1, 'ERROR: canceling statement due to lock timeout')",
		"UPDATE schema_migrations SET version = 100, dirty = true",
	} {
		if _, err := pool.Exec(t.Context(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	st, err := r.Status(t.Context())
	if err != nil || st.Interrupted == nil || !st.Interrupted.Resumable || st.Interrupted.StatementsDone != 1 {
		t.Fatalf("status on the older history table: %v %+v", err, st.Interrupted)
	}
	rep, err := r.Up(t.Context(), 0)
	if err != nil || len(rep.Applied) != 1 || !rep.Applied[0].Resumed || rep.Applied[0].ResumedAt != 1 {
		t.Fatalf("up: %v %+v", err, rep)
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM pg_index WHERE indexrelid IN ('idx_test_symbol'::regclass, 'idx_test_broker'::regclass) AND indisvalid"); n != 2 {
		t.Fatalf("%d valid indexes, want 2", n)
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'quantx_migration_history' AND column_name = 'statements_sha256'"); n != 1 {
		t.Fatal("the history table was not upgraded")
	}
}
