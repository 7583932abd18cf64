package migrations_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quantx/quantx-db/internal/testenv"
	"github.com/quantx/quantx-db/migrations"
)

// newPool connects to a fresh database of the test server.
func newPool(t *testing.T) (*pgxpool.Pool, *testenv.PGDatabase) {
	t.Helper()
	db := testenv.Postgres(t)
	pool, err := pgxpool.New(t.Context(), db.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, db
}

// migratedPool connects to a fresh database already at version (0: the
// newest) of the embedded migrations, copied from testenv's template: for
// tests whose subject comes after the real migrations, not for tests of
// migrating them.
func migratedPool(t *testing.T, version uint64) (*pgxpool.Pool, *testenv.PGDatabase) {
	t.Helper()
	db := testenv.MigratedPostgres(t, version)
	pool, err := pgxpool.New(t.Context(), db.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, db
}

func newRunner(t *testing.T, pool *pgxpool.Pool, src fs.FS, opts migrations.Options) *migrations.Runner {
	t.Helper()
	r, err := migrations.New(pool, src, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// copySource copies the embedded migrations into a folder the test may edit.
func copySource(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	err := fs.WalkDir(migrations.Files(), ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.Files(), p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, p), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeFile(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func lastVersion(t *testing.T) int64 {
	ms, err := migrations.Load(migrations.Files())
	if err != nil {
		t.Fatal(err)
	}
	return int64(ms[len(ms)-1].Version)
}

func queryInt(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func version(t *testing.T, pool *pgxpool.Pool) (int64, bool) {
	t.Helper()
	var v int64 = -1
	var dirty bool
	err := pool.QueryRow(t.Context(), "SELECT version, dirty FROM schema_migrations").Scan(&v, &dirty)
	if err != nil && !strings.Contains(err.Error(), "no rows") {
		t.Fatal(err)
	}
	return v, dirty
}

func TestUpAppliesEverythingAndIsIdempotent(t *testing.T) {
	t.Parallel()
	pool, _ := newPool(t)
	r := newRunner(t, pool, migrations.Files(), migrations.Options{})
	rep, err := r.Up(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Applied) != len(r.Migrations()) || rep.ToVersion != lastVersion(t) {
		t.Fatalf("applied %d of %d, to %d", len(rep.Applied), len(r.Migrations()), rep.ToVersion)
	}
	if v, dirty := version(t, pool); v != lastVersion(t) || dirty {
		t.Fatalf("schema_migrations = (%d, %v)", v, dirty)
	}
	// Second run: nothing to do is an empty report, not an error.
	rep, err = r.Up(t.Context(), 0)
	if err != nil || len(rep.Applied) != 0 {
		t.Fatalf("second up: %v, %d applied", err, len(rep.Applied))
	}
	// Every up was recorded with its checksum.
	n := queryInt(t, pool, "SELECT count(*) FROM quantx_migration_history WHERE direction='up' AND success AND length(checksum)=64")
	if n != int64(len(r.Migrations())) {
		t.Fatalf("history rows = %d", n)
	}
	// The seed's tables exist with the corrected partitioning.
	for _, q := range []struct {
		sql  string
		want int64
	}{
		{"SELECT count(*) FROM pg_partitioned_table pt JOIN pg_class c ON c.oid = pt.partrelid WHERE c.relname IN ('transactions','activity_logs')", 2},
		{"SELECT count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'transactions'", 4},
		{"SELECT count(*) FROM pg_class WHERE relname = 'activity_logs_default'", 1},
		{"SELECT count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'activity_logs'", 5}, // default + this month + 3
	} {
		if got := queryInt(t, pool, q.sql); got != q.want {
			t.Errorf("%s = %d, want %d", q.sql, got, q.want)
		}
	}
}

func TestUpStepsAndGoto(t *testing.T) {
	t.Parallel()
	pool, _ := newPool(t)
	r := newRunner(t, pool, migrations.Files(), migrations.Options{})
	if rep, err := r.Up(t.Context(), 2); err != nil || rep.ToVersion != 2 {
		t.Fatalf("up 2: %v, to %d", err, rep.ToVersion)
	}
	if rep, err := r.Goto(t.Context(), 5); err != nil || rep.ToVersion != 5 || len(rep.Applied) != 3 {
		t.Fatalf("goto 5: %v, %+v", err, rep)
	}
	if rep, err := r.Goto(t.Context(), 1); err != nil || rep.ToVersion != 1 || len(rep.Applied) != 4 {
		t.Fatalf("goto 1: %v, %+v", err, rep)
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM pg_tables WHERE schemaname='public' AND tablename='users'"); n != 0 {
		t.Fatalf("users still exists after goto 1")
	}
	if _, err := r.Goto(t.Context(), 999); !errors.Is(err, migrations.ErrUnknownVersion) {
		t.Fatalf("goto 999: %v", err)
	}
}

// schemaObjects counts what the migrations own in schema public, leaving out
// the tool's bookkeeping tables.
func schemaObjects(t *testing.T, pool *pgxpool.Pool) (tables, types, funcs int64) {
	tables = queryInt(t, pool, `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid=c.relnamespace
		WHERE n.nspname='public' AND c.relkind IN ('r','p','v','m') AND c.relname NOT IN ('schema_migrations','quantx_migration_history')`)
	types = queryInt(t, pool, `SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid=t.typnamespace
		WHERE n.nspname='public' AND t.typtype IN ('e','d','c') AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.reltype = t.oid)`)
	funcs = queryInt(t, pool, `SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid=p.pronamespace WHERE n.nspname='public'`)
	return
}

func TestUpDownAllUpGivesTheSameSchema(t *testing.T) {
	t.Parallel()
	pool, db := newPool(t)
	r := newRunner(t, pool, migrations.Files(), migrations.Options{})
	if _, err := r.Up(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	first := schemaDump(t, db.URL, "schema_migrations", "quantx_migration_history")
	rep, err := r.Down(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ToVersion != -1 || len(rep.Applied) != len(r.Migrations()) {
		t.Fatalf("down all: %+v", rep)
	}
	if tables, types, funcs := schemaObjects(t, pool); tables+types+funcs != 0 {
		t.Fatalf("down --all left %d tables, %d types, %d functions", tables, types, funcs)
	}
	if v, _ := version(t, pool); v != -1 {
		t.Fatalf("version after down all = %d, want no row", v)
	}
	if _, err := r.Up(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	if second := schemaDump(t, db.URL, "schema_migrations", "quantx_migration_history"); first != second {
		t.Fatalf("schema differs after up → down --all → up:\n%s", firstDiff(first, second))
	}
}

// schemaDump is pg_dump --schema-only of the database, without the given tables.
// The restrict key is pinned: pg_dump 15.14+ writes a random one otherwise.
func schemaDump(t *testing.T, url string, exclude ...string) string {
	t.Helper()
	args := []string{"--schema-only", "--no-owner", "--restrict-key=quantxtest"}
	for _, e := range exclude {
		args = append(args, "--exclude-table="+e)
	}
	out, err := exec.CommandContext(t.Context(), "pg_dump", append(args, url)...).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	return string(out)
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return "line " + al[i] + "\n  vs " + bl[i]
		}
	}
	return "lengths differ"
}

func TestFailedTransactionalMigrationLeavesPreviousVersion(t *testing.T) {
	t.Parallel()
	pool, _ := migratedPool(t, 0)
	dir := copySource(t)
	// The second statement fails after the first succeeded: the first must be rolled back too.
	writeFile(t, dir, "0100_broken.up.sql", "CREATE TABLE broken_a (id int);\n\nINSERT INTO broken_a\n  VALUES ('not a number');\n")
	writeFile(t, dir, "0100_broken.down.sql", "DROP TABLE broken_a;\n")
	r := newRunner(t, pool, os.DirFS(dir), migrations.Options{})
	_, err := r.Up(t.Context(), 0)
	var se *migrations.StepError
	if !errors.As(err, &se) {
		t.Fatalf("want StepError, got %v", err)
	}
	if se.File != "0100_broken.up.sql" || se.Line != 3 || se.Dirty {
		t.Fatalf("step error = %+v", se)
	}
	if !strings.Contains(err.Error(), "0100_broken.up.sql:3") {
		t.Fatalf("error does not name file:line: %v", err)
	}
	if v, dirty := version(t, pool); v != lastVersion(t) || dirty {
		t.Fatalf("after failure version=(%d,%v), want (%d,false)", v, dirty, lastVersion(t))
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM pg_tables WHERE tablename='broken_a'"); n != 0 {
		t.Fatal("first statement of the failed file was not rolled back")
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM quantx_migration_history WHERE version=100 AND NOT success AND error <> ''"); n != 1 {
		t.Fatalf("failure not recorded: %d rows", n)
	}
	// Fix the file; the next up just works, no force needed.
	writeFile(t, dir, "0100_broken.up.sql", "CREATE TABLE broken_a (id int);\n\nINSERT INTO broken_a\n  VALUES (1);\n")
	r = newRunner(t, pool, os.DirFS(dir), migrations.Options{})
	if rep, err := r.Up(t.Context(), 0); err != nil || rep.ToVersion != 100 {
		t.Fatalf("up after fix: %v %+v", err, rep)
	}
}

// TestFailedNoTransactionMigrationResumes: a no-transaction file that fails
// at statement 3 is dirty, names file:line, is never shown as applied, and the
// next up (after the statement is fixed) resumes at statement 3 without
// running 1 and 2 again.
func TestFailedNoTransactionMigrationResumes(t *testing.T) {
	t.Parallel()
	pool, _ := newPool(t)
	dir := copySource(t)
	writeFile(t, dir, "0100_cic.up.sql", migrations.NoTransactionDirective+`
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_test_orders_symbol ON orders (symbol);

-- not idempotent: running it twice fails, so a resume must skip it
CREATE TABLE test_once (id int);

CREATE INDEX CONCURRENTLY idx_test_missing ON no_such_table (x);
`)
	writeFile(t, dir, "0100_cic.down.sql", migrations.NoTransactionDirective+"\nDROP INDEX CONCURRENTLY IF EXISTS idx_test_orders_symbol;\nDROP TABLE IF EXISTS test_once;\n")
	r := newRunner(t, pool, os.DirFS(dir), migrations.Options{})
	_, err := r.Up(t.Context(), 0)
	var se *migrations.StepError
	if !errors.As(err, &se) {
		t.Fatalf("want StepError, got %v", err)
	}
	if !se.Dirty || se.Line != 7 || se.Statement != 3 || se.Done != 2 || len(se.Applied) != len(r.Migrations())-1 {
		t.Fatalf("step error = %+v", se)
	}
	if v, dirty := version(t, pool); v != 100 || !dirty {
		t.Fatalf("version=(%d,%v), want (100,true)", v, dirty)
	}
	st, err := r.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	last := st.Migrations[len(st.Migrations)-1]
	if last.Version != 100 || last.State != migrations.StateDirty || last.Applied || st.Interrupted == nil ||
		st.Interrupted.StatementsDone != 2 || !st.Interrupted.Resumable || !strings.Contains(st.Interrupted.Error, "no_such_table") {
		t.Fatalf("status of the dirty migration: %+v, interrupted %+v", last, st.Interrupted)
	}
	// Unfixed, a second up resumes at statement 3 and fails there again.
	if _, err := r.Up(t.Context(), 0); !errors.As(err, &se) || se.Statement != 3 || se.Done != 2 {
		t.Fatalf("second up on the dirty database: %v", err)
	}
	// Going down is refused: only a run up resumes it.
	if _, err := r.Down(t.Context(), 1); !errors.Is(err, migrations.ErrDirty) {
		t.Fatalf("down on a database dirty from an up: %v", err)
	}
	// The failing statement is fixed (statements 1 and 2 unchanged): up resumes.
	writeFile(t, dir, "0100_cic.up.sql", migrations.NoTransactionDirective+`
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_test_orders_symbol ON orders (symbol);

-- not idempotent: running it twice fails, so a resume must skip it
CREATE TABLE test_once (id int);

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_test_once ON test_once (id);
`)
	r = newRunner(t, pool, os.DirFS(dir), migrations.Options{})
	rep, err := r.Up(t.Context(), 0)
	if err != nil || len(rep.Applied) != 1 || !rep.Applied[0].Resumed || rep.Applied[0].ResumedAt != 2 {
		t.Fatalf("up after the fix: %v %+v", err, rep)
	}
	if v, dirty := version(t, pool); v != 100 || dirty {
		t.Fatalf("after resume: (%d,%v)", v, dirty)
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM pg_index WHERE indexrelid IN ('idx_test_orders_symbol'::regclass, 'idx_test_once'::regclass) AND indisvalid"); n != 2 {
		t.Fatalf("%d valid indexes, want 2", n)
	}
	val, err := r.Validate(t.Context())
	if err != nil || len(val.Findings) != 0 {
		t.Fatalf("validate after resume: %v %+v", err, val.Findings)
	}
}

// TestForceAfterAFailureUndoneByHand: force is still the way out when the
// operator undoes a failed no-transaction file by hand.
func TestForceAfterAFailureUndoneByHand(t *testing.T) {
	t.Parallel()
	pool, _ := migratedPool(t, 0)
	dir := copySource(t)
	writeFile(t, dir, "0100_cic.up.sql", migrations.NoTransactionDirective+`
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_test_orders_symbol ON orders (symbol);
CREATE INDEX CONCURRENTLY idx_test_missing ON no_such_table (x);
`)
	r := newRunner(t, pool, os.DirFS(dir), migrations.Options{})
	if _, err := r.Up(t.Context(), 0); err == nil {
		t.Fatal("want a failure")
	}
	if _, err := pool.Exec(t.Context(), "DROP INDEX idx_test_orders_symbol"); err != nil {
		t.Fatal(err)
	}
	if err := r.Force(t.Context(), lastVersion(t)); err != nil {
		t.Fatal(err)
	}
	if v, dirty := version(t, pool); v != lastVersion(t) || dirty {
		t.Fatalf("after force: (%d,%v)", v, dirty)
	}
	st, err := r.Status(t.Context())
	if err != nil || st.Interrupted != nil || st.Migrations[len(st.Migrations)-1].State != migrations.StatePending {
		t.Fatalf("status after force: %v %+v", err, st)
	}
}

func TestValidateDetectsAnEditedFile(t *testing.T) {
	t.Parallel()
	pool, _ := migratedPool(t, 0)
	dir := copySource(t)
	r := newRunner(t, pool, os.DirFS(dir), migrations.Options{})
	val, err := r.Validate(t.Context())
	if err != nil || len(val.Findings) != 0 || val.Checked != len(r.Migrations()) {
		t.Fatalf("clean validate: %v %+v", err, val)
	}
	name := r.Migrations()[2].Up.Path
	b, _ := os.ReadFile(filepath.Join(dir, name))
	writeFile(t, dir, name, string(b)+"\n-- edited after it was applied\n")
	r = newRunner(t, pool, os.DirFS(dir), migrations.Options{})
	val, err = r.Validate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(val.Findings) != 1 || val.Findings[0].File != name || val.Findings[0].Kind != "checksum_mismatch" {
		t.Fatalf("findings = %+v", val.Findings)
	}
	st, err := r.Status(t.Context())
	if err != nil || !st.Migrations[2].Drift {
		t.Fatalf("status does not flag drift: %v %+v", err, st.Migrations[2])
	}
}

func TestLockTimeoutRetriesUntilTheLockGoes(t *testing.T) {
	t.Parallel()
	pool, _ := migratedPool(t, 0)
	dir := copySource(t)
	writeFile(t, dir, "0100_note.up.sql", "ALTER TABLE orders ADD COLUMN note text;\n")
	writeFile(t, dir, "0100_note.down.sql", "ALTER TABLE orders DROP COLUMN note;\n")

	// Another session holds a lock on orders for 1.5 s, as a long report query would.
	holder, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Exec(t.Context(), "LOCK TABLE orders IN ACCESS SHARE MODE"); err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		time.Sleep(1500 * time.Millisecond)
		_ = holder.Rollback(context.Background())
		close(released)
	}()
	r := newRunner(t, pool, os.DirFS(dir), migrations.Options{LockTimeout: 200 * time.Millisecond, LockRetries: 6, RetryBackoff: 150 * time.Millisecond})
	start := time.Now()
	rep, err := r.Up(t.Context(), 0)
	<-released
	if err != nil {
		t.Fatalf("up with a held lock: %v", err)
	}
	if len(rep.Applied) != 1 || rep.Applied[0].Retries == 0 {
		t.Fatalf("want one applied migration after retries, got %+v", rep.Applied)
	}
	if time.Since(start) < time.Second {
		t.Fatalf("finished in %s: the lock cannot have been waited for", time.Since(start))
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM information_schema.columns WHERE table_name='orders' AND column_name='note'"); n != 1 {
		t.Fatal("column not added")
	}
}

func TestLockTimeoutGivesUpWithoutChangingAnything(t *testing.T) {
	t.Parallel()
	pool, _ := migratedPool(t, 0)
	dir := copySource(t)
	writeFile(t, dir, "0100_note.up.sql", "ALTER TABLE orders ADD COLUMN note text;\n")
	holder, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback(context.Background())
	if _, err := holder.Exec(t.Context(), "LOCK TABLE orders IN ACCESS SHARE MODE"); err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, pool, os.DirFS(dir), migrations.Options{LockTimeout: 100 * time.Millisecond, LockRetries: 2, RetryBackoff: 50 * time.Millisecond})
	_, err = r.Up(t.Context(), 0)
	se, isStep := errors.AsType[*migrations.StepError](err)
	if !errors.Is(err, migrations.ErrLockTimeout) || !isStep || se.File != "0100_note.up.sql" || se.Dirty ||
		!strings.Contains(err.Error(), "lock not granted within lock_timeout after 3 attempt(s)") {
		t.Fatalf("want a StepError for 0100 over ErrLockTimeout after 3 attempts, got %v", err)
	}
	if v, dirty := version(t, pool); v != lastVersion(t) || dirty {
		t.Fatalf("version=(%d,%v)", v, dirty)
	}
}

func TestSecondRunnerWaitsForTheLockThenExitsLocked(t *testing.T) {
	t.Parallel()
	pool, _ := migratedPool(t, 0)
	dir := copySource(t)
	// A slow migration keeps the runner lock for 2 s.
	writeFile(t, dir, "0100_slow.up.sql", migrations.NoTransactionDirective+"\nSELECT pg_sleep(2);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS idx_test_slow ON orders (symbol);\n")
	slow := newRunner(t, pool, os.DirFS(dir), migrations.Options{})
	done := make(chan error, 1)
	go func() { _, err := slow.Up(context.Background(), 0); done <- err }()
	time.Sleep(500 * time.Millisecond)
	impatient := newRunner(t, pool, os.DirFS(dir), migrations.Options{LockWait: 300 * time.Millisecond})
	if _, err := impatient.Up(t.Context(), 0); !errors.Is(err, migrations.ErrLocked) {
		t.Fatalf("want ErrLocked, got %v", err)
	}
	// A patient runner polls while the holder's CREATE INDEX CONCURRENTLY runs:
	// polling holds no snapshot, so the index build is not blocked (golang-migrate #960).
	patient := newRunner(t, pool, os.DirFS(dir), migrations.Options{LockWait: 30 * time.Second})
	rep, err := patient.Up(t.Context(), 0)
	if err != nil || len(rep.Applied) != 0 {
		t.Fatalf("patient runner: %v %+v", err, rep)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid=i.indexrelid WHERE c.relname='idx_test_slow' AND i.indisvalid"); n != 1 {
		t.Fatal("concurrent index is not valid")
	}
}

func TestPlanChangesNothing(t *testing.T) {
	t.Parallel()
	pool, _ := newPool(t)
	r := newRunner(t, pool, migrations.Files(), migrations.Options{})
	p, err := r.PlanFor(t.Context(), migrations.Target{Direction: migrations.Up})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Steps) != len(r.Migrations()) || p.Steps[0].SQL == "" || p.FromVersion != -1 {
		t.Fatalf("plan = %+v", p)
	}
	noTx := 0
	for _, s := range p.Steps {
		if s.NoTransaction {
			noTx++
		}
	}
	if noTx == 0 {
		t.Fatal("the real set must ship at least one no-transaction migration")
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM pg_tables WHERE schemaname='public'"); n != 0 {
		t.Fatalf("plan created %d tables", n)
	}
}

func TestBaselineThenUp(t *testing.T) {
	t.Parallel()
	pool, _ := newPool(t)
	// The schema of 0001..0002 is made "by hand" (here: by the files themselves, outside the tool).
	for _, m := range newRunner(t, pool, migrations.Files(), migrations.Options{}).Migrations()[:2] {
		if _, err := pool.Exec(t.Context(), m.Up.SQL); err != nil {
			t.Fatal(err)
		}
	}
	r := newRunner(t, pool, migrations.Files(), migrations.Options{})
	if err := r.Baseline(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	if err := r.Baseline(t.Context(), 2); err == nil {
		t.Fatal("second baseline must be refused")
	}
	rep, err := r.Up(t.Context(), 0)
	if err != nil || rep.FromVersion != 2 || len(rep.Applied) != len(r.Migrations())-2 {
		t.Fatalf("up after baseline: %v %+v", err, rep)
	}
	val, err := r.Validate(t.Context())
	if err != nil || len(val.Unverified) != 2 || len(val.Findings) != 0 {
		t.Fatalf("validate after baseline: %v %+v", err, val)
	}
}

// TestConcurrentIndexOnPartitionedTable: PostgreSQL refuses CREATE INDEX
// CONCURRENTLY on a partitioned parent; in a no-transaction file the engine
// expands it (partitions.CreateIndex) and every child index ends up valid.
func TestConcurrentIndexOnPartitionedTable(t *testing.T) {
	t.Parallel()
	pool, _ := migratedPool(t, 0)
	dir := copySource(t)
	writeFile(t, dir, "0100_logs_ip.up.sql", migrations.NoTransactionDirective+"\nCREATE INDEX CONCURRENTLY IF NOT EXISTS idx_test_logs_ip ON activity_logs (ip_address);\n")
	writeFile(t, dir, "0100_logs_ip.down.sql", migrations.NoTransactionDirective+"\nDROP INDEX IF EXISTS idx_test_logs_ip;\n")
	r := newRunner(t, pool, os.DirFS(dir), migrations.Options{})
	if _, err := r.Up(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	parts := queryInt(t, pool, "SELECT count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'activity_logs'")
	valid := queryInt(t, pool, `SELECT count(*) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
		WHERE x.indisvalid AND (c.relname = 'idx_test_logs_ip' OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'idx_test_logs_ip'::regclass))`)
	if valid != parts+1 {
		t.Fatalf("%d valid indexes, want %d (parent + %d partitions)", valid, parts+1, parts)
	}
	if _, err := r.Down(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
}
