package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quantx/quantx-db/internal/testenv"
)

// migrateStatusDoc is the part of 'migrate status -o json' these tests read.
type migrateStatusDoc struct {
	CurrentVersion *int64 `json:"current_version"`
	Dirty          bool   `json:"dirty"`
	BinaryVersion  int64  `json:"binary_version"`
	UnknownApplied []int  `json:"unknown_applied"`
	Interrupted    *struct {
		Version        int    `json:"version"`
		StatementsDone int    `json:"statements_done"`
		Resumable      bool   `json:"resumable"`
		Error          string `json:"error"`
	} `json:"interrupted"`
	InvalidIndexes []struct {
		Name    string `json:"name"`
		Version int    `json:"version"`
		Rebuild bool   `json:"rebuild"`
	} `json:"invalid_indexes"`
	Migrations []struct {
		Version int    `json:"version"`
		State   string `json:"state"`
		Applied bool   `json:"applied"`
	} `json:"migrations"`
}

func migrateStatus(t *testing.T, env map[string]string) migrateStatusDoc {
	t.Helper()
	r := runCLI(t, env, "migrate", "status", "--exit-code=false", "-o", "json")
	if r.code != exitOK {
		t.Fatalf("migrate status: exit %d: %s", r.code, r.stderr)
	}
	var st migrateStatusDoc
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("migrate status json: %v\n%s", err, r.stdout)
	}
	return st
}

func (st migrateStatusDoc) state(v int) (string, bool) {
	for _, m := range st.Migrations {
		if m.Version == v {
			return m.State, m.Applied
		}
	}
	return "", false
}

// schemaOnly is pg_dump -s of url without the bookkeeping tables (restrict key pinned).
func schemaOnly(t *testing.T, url string) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "pg_dump", "--schema-only", "--no-owner", "--restrict-key=quantxtest",
		"--exclude-table=schema_migrations", "--exclude-table=quantx_migration_history", url).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	return string(out)
}

// stderrLines counts the lines a failing command printed.
func stderrLines(s string) int { return len(strings.Split(strings.TrimRight(s, "\n"), "\n")) }

// TestMigrateKill9ResumesToACleanSchema: kill -9 of a real 'migrate up'
// process while 0008's CREATE INDEX CONCURRENTLY waits (held by a writer's
// open transaction). Its server session ends too (no build keeps running
// with the lock), status says dirty and how to resume, and the next
// 'migrate up' resumes by itself to the schema of a clean run.
func TestMigrateKill9ResumesToACleanSchema(t *testing.T) {
	t.Parallel()
	_, clean := migratedEnv(t, 0)
	want := schemaOnly(t, clean.URL)

	env, db := migratedEnv(t, 7)
	admin := connect(t, db.URL)
	writer := connect(t, db.URL)
	if _, err := writer.Exec(t.Context(), "BEGIN; LOCK TABLE orders IN ROW EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(binary(t), "migrate", "up")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "QUANTX_DATABASE_URL=" + db.URL}
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int32
	waitUntil(t, "0008's index build to wait for the writer", func() bool {
		return admin.QueryRow(t.Context(), `SELECT pid FROM pg_stat_activity WHERE application_name = 'quantx-db'
			AND query LIKE 'CREATE INDEX CONCURRENTLY%idx_orders_retention%' AND wait_event_type = 'Lock'`).Scan(&pid) == nil
	})
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	// Without a client check the server would keep building (and holding the
	// migration lock) until the writer commits.
	waitUntil(t, "the killed runner's server session to end", func() bool {
		var n int
		return admin.QueryRow(t.Context(), "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid).Scan(&n) == nil && n == 0
	})
	st := migrateStatus(t, env)
	if state, applied := st.state(8); state != "dirty" || applied || !st.Dirty || st.Interrupted == nil || !st.Interrupted.Resumable ||
		st.Interrupted.StatementsDone != 0 || st.Interrupted.Error != "" {
		t.Fatalf("status after kill -9: state %q applied %v, %+v", state, applied, st.Interrupted)
	}
	r := runCLI(t, env, "migrate", "status", "--exit-code")
	if r.code != exitCheck || !strings.Contains(r.stderr, "hint: run 'quantx-db migrate up' to resume it") {
		t.Fatalf("status --exit-code after kill -9: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := writer.Exec(t.Context(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, env, "migrate", "up", "-o", "json")
	var rep struct {
		Applied []struct {
			Version int  `json:"version"`
			Resumed bool `json:"resumed"`
		} `json:"applied"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); r.code != exitOK || err != nil || len(rep.Applied) != 2 || !rep.Applied[0].Resumed || rep.Applied[0].Version != 8 {
		t.Fatalf("up after kill -9: exit %d %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if got := schemaOnly(t, db.URL); got != want {
		t.Fatalf("schema after resume differs from a clean run (killed run's stderr: %s)", stderr.String())
	}
	for _, args := range [][]string{{"migrate", "status", "--exit-code"}, {"migrate", "validate"}} {
		if r := runCLI(t, env, args...); r.code != exitOK {
			t.Fatalf("%v after resume: exit %d %s", args, r.code, r.stderr)
		}
	}
}

// TestMigrateOnAStandbyFailsInOneLine: a real hot standby of a private
// cluster. Every command that writes fails in one line naming the standby
// (exit 1); status, which only reads, works.
func TestMigrateOnAStandbyFailsInOneLine(t *testing.T) {
	t.Parallel()
	c := testenv.NewCluster(t, testenv.ClusterOptions{})
	db := c.Database(t)
	if r := runCLI(t, map[string]string{"QUANTX_DATABASE_URL": db.URL}, "migrate", "up", "7"); r.code != exitOK {
		t.Fatalf("up on the primary: %d %s", r.code, r.stderr)
	}
	s := c.Standby(t)
	env := map[string]string{"QUANTX_DATABASE_URL": s.DatabaseURL(db.Name)}
	for _, args := range [][]string{{"migrate", "up"}, {"migrate", "down", "1", "--yes"}, {"migrate", "force", "7"}, {"migrate", "goto", "8"}} {
		r := runCLI(t, env, args...)
		if r.code != exitFailure || stderrLines(r.stderr) != 1 || !strings.Contains(r.stderr, "read-only standby") {
			t.Errorf("%v on a standby: exit %d\n%s", args, r.code, r.stderr)
		}
	}
	if r := runCLI(t, env, "migrate", "status", "--exit-code"); r.code != exitCheck || !strings.Contains(r.stderr, "2 migration(s) pending") {
		t.Errorf("status on a standby: exit %d\n%s", r.code, r.stderr)
	}
}

// TestMigrateNewerDatabase: a release with migration 42 migrated the
// database. This binary's status says so (exit 3 with --exit-code, state
// unknown_applied) and up/down refuse in one line naming both versions.
func TestMigrateNewerDatabase(t *testing.T) {
	t.Parallel()
	env, _ := dbEnv(t)
	dir := t.TempDir()
	entries, err := os.ReadDir("../../migrations/sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("../../migrations/sql", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "0042_future.up.sql"), []byte("CREATE TABLE future (id int);\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "0042_future.down.sql"), []byte("DROP TABLE future;\n"), 0o644)
	if r := runCLI(t, env, "migrate", "up", "--source", dir); r.code != exitOK {
		t.Fatalf("up with the newer files: %d %s", r.code, r.stderr)
	}
	st := migrateStatus(t, env)
	if state, applied := st.state(42); state != "unknown_applied" || !applied || len(st.UnknownApplied) != 1 || st.BinaryVersion != 9 {
		t.Fatalf("status: state %q applied %v, unknown %v, binary %d", state, applied, st.UnknownApplied, st.BinaryVersion)
	}
	r := runCLI(t, env, "migrate", "status", "--exit-code")
	if r.code != exitCheck || !strings.Contains(r.stderr, "version 42, newer than this binary (its newest migration is 9)") {
		t.Fatalf("status --exit-code: exit %d\n%s", r.code, r.stderr)
	}
	for _, args := range [][]string{{"migrate", "up"}, {"migrate", "down", "1", "--yes"}} {
		r := runCLI(t, env, args...)
		if r.code != exitFailure || stderrLines(r.stderr) != 2 || !strings.Contains(r.stderr, "42") || !strings.Contains(r.stderr, "is 9") ||
			!strings.Contains(r.stderr, "hint: use the quantx-db release that migrated this database") {
			t.Errorf("%v: exit %d\n%s", args, r.code, r.stderr)
		}
	}
	if n := countTables(t, env["QUANTX_DATABASE_URL"]); n == 0 {
		t.Fatal("tables gone")
	}
}

// TestInvalidIndexIsReportedEverywhere: an applied migration's index is
// INVALID (as an older release left 0008 after a timed-out build). migrate
// status, validate, status and doctor all report it (exit 3), and
// 'migrate up', which every hint names, builds it again.
func TestInvalidIndexIsReportedEverywhere(t *testing.T) {
	t.Parallel()
	env, db := migratedEnv(t, 0)
	conn := connect(t, db.URL)
	if _, err := conn.Exec(t.Context(), "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'idx_orders_retention'::regclass"); err != nil {
		t.Fatal(err)
	}
	st := migrateStatus(t, env)
	if state, applied := st.state(8); state != "invalid_index" || !applied || len(st.InvalidIndexes) != 1 ||
		st.InvalidIndexes[0].Version != 8 || !st.InvalidIndexes[0].Rebuild {
		t.Fatalf("migrate status: state %q applied %v, %+v", state, applied, st.InvalidIndexes)
	}
	const fix = "run 'quantx-db migrate up'"
	for _, args := range [][]string{{"migrate", "status", "--exit-code"}, {"migrate", "validate"}, {"status", "--exit-code"}, {"doctor"}} {
		r := runCLI(t, env, args...)
		out := r.stdout + r.stderr
		if r.code != exitCheck || !strings.Contains(out, "idx_orders_retention") || !strings.Contains(out, fix) {
			t.Errorf("%v with an INVALID index: exit %d\n%s", args, r.code, out)
		}
	}
	r := runCLI(t, env, "migrate", "up", "-o", "json")
	var rep struct {
		ToVersion int `json:"to_version"`
		Applied   []struct {
			Version int      `json:"version"`
			Rebuilt []string `json:"rebuilt_indexes"`
		} `json:"applied"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); r.code != exitOK || err != nil || len(rep.Applied) != 1 || len(rep.Applied[0].Rebuilt) != 1 || rep.ToVersion != 9 {
		t.Fatalf("up: exit %d %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	for _, args := range [][]string{{"migrate", "status", "--exit-code"}, {"migrate", "validate"}} {
		if r := runCLI(t, env, args...); r.code != exitOK {
			t.Errorf("%v after the rebuild: exit %d %s", args, r.code, r.stderr)
		}
	}
	r = runCLI(t, env, "doctor", "-o", "json")
	if !strings.Contains(r.stdout, `"name": "invalid indexes",`) || strings.Contains(r.stdout, "idx_orders_retention") {
		t.Errorf("doctor after the rebuild:\n%s", r.stdout)
	}
}

// waitUntil polls cond until it holds; a minute without it fails the test.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
