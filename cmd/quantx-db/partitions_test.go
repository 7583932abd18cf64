package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quantx/quantx-db/partitions"
)

// schemaDB returns the env of a fresh database at version 8 (the schema the
// partitions and retention commands work on; a copy of testenv's migrated
// template) and a pool on it.
func schemaDB(t *testing.T) (map[string]string, *pgxpool.Pool) {
	t.Helper()
	env, db := migratedEnv(t, 8)
	pool, err := pgxpool.New(t.Context(), db.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return env, pool
}

func TestPartitionsEnsureCLI(t *testing.T) {
	t.Parallel()
	env, pool := schemaDB(t)
	env["QUANTX_NOW"] = "2031-12-20T10:00:00Z"
	r := runCLI(t, env, "partitions", "ensure", "--months-ahead", "2", "-o", "json")
	if r.code != exitOK {
		t.Fatalf("ensure: exit %d: %s", r.code, r.stderr)
	}
	var rep partitions.EnsureReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if strings.Join(rep.Created, ",") != "activity_logs_y2031m12,activity_logs_y2032m01,activity_logs_y2032m02" || !rep.Changed {
		t.Fatalf("created %v", rep.Created)
	}
	r = runCLI(t, env, "partitions", "ensure", "--months-ahead", "2")
	if r.code != exitOK || !strings.Contains(r.stdout, "nothing to do: all 3 partition(s) already exist") {
		t.Fatalf("second ensure: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Rows in DEFAULT: list warns; a missing hash partition: ensure exits 3.
	if _, err := pool.Exec(t.Context(), "INSERT INTO activity_logs (action, resource_type, created_at) VALUES ('x', 'r', '2040-01-01')"); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, env, "partitions", "list")
	if r.code != exitOK || !strings.Contains(r.stdout, "warning: activity_logs_default holds 1 row(s)") || !strings.Contains(r.stdout, "transactions_p3") {
		t.Fatalf("list: exit %d\n%s", r.code, r.stdout)
	}
	if _, err := pool.Exec(t.Context(), "ALTER TABLE transactions DETACH PARTITION transactions_p3"); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, env, "partitions", "ensure")
	if r.code != exitCheck || !strings.Contains(r.stderr, "transactions: hash partitions missing for remainder(s) [3] of modulus 4") {
		t.Fatalf("ensure with a missing hash partition: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := runCLI(t, env, "partitions", "ensure", "--months-ahead", "-1"); r.code != exitUsage {
		t.Errorf("negative --months-ahead: exit %d", r.code)
	}
}

func TestPartitionsEnsureExitsFourWhileLocked(t *testing.T) {
	t.Parallel()
	env, pool := schemaDB(t)
	held, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- partitions.New(pool, partitions.Options{}).WithTableLock(context.Background(), partitions.MonthlyTable,
			func(context.Context, *pgx.Conn) error { close(held); <-release; return nil })
	}()
	<-held
	start := time.Now()
	r := runCLI(t, env, "partitions", "ensure", "--lock-wait", "300ms")
	close(release)
	if r.code != exitLocked || !strings.Contains(r.stderr, "another runner holds the maintenance lock") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Error("did not wait --lock-wait")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestPartitionsEnsureLockTimeoutCLI(t *testing.T) {
	t.Parallel()
	env, pool := schemaDB(t)
	env["QUANTX_NOW"] = "2036-01-01T00:00:00Z"
	tx, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(t.Context(), "LOCK TABLE activity_logs IN ROW EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, env, "partitions", "ensure", "--lock-timeout", "100ms", "--lock-retries", "1")
	// Exit 4, as for a held maintenance lock: the lock was not granted in time.
	if r.code != exitLocked || !strings.Contains(r.stderr, "lock not granted within lock_timeout after 2 attempt(s)") || !strings.Contains(r.stderr, "hint: a long transaction holds a lock") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
}
