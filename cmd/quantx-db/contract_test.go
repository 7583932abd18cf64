package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quantx/quantx-db/internal/testenv"
	"github.com/quantx/quantx-db/partitions"
)

// writeFile writes a file in a new temporary directory of the test.
func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	return writeFileAt(t, t.TempDir(), name, body)
}

// writeFileAt writes dir/name and returns its path.
func writeFileAt(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// hungPeer returns a loopback address that accepts connections and never
// answers: a server stuck in a GC pause, a firewall that swallows packets
// after the handshake, a wrong port that happens to be some other service.
func hungPeer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				for _, c := range conns {
					c.Close()
				}
				close(done)
				return
			}
			conns = append(conns, c) // held open, never read from or written to
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return l.Addr().String()
}

// TestErrorsKeepTheirCause: the error line keeps the cause instead of cutting
// it at the first line break (pgconn puts "connection refused" on the line
// after "failed to connect to ..."), and a bad config key is named with its line.
func TestErrorsKeepTheirCause(t *testing.T) {
	r := runCLI(t, nil, "migrate", "status", "--database-url", "postgres://u:pw@"+closedPort(t)+"/db")
	if r.code != exitFailure || !strings.Contains(r.stderr, "connection refused") || strings.Contains(r.stderr, "…") {
		t.Errorf("unreachable server: exit %d\n%s", r.code, r.stderr)
	}
	if n := strings.Count(r.stderr, "\n"); n != 2 {
		t.Errorf("want the error and its hint, two lines; got %d:\n%s", n, r.stderr)
	}
	cfg := writeFile(t, "q.yaml", "s3_bucket: b\ndatabse_url: postgres://h/db\n")
	r = runCLI(t, nil, "migrate", "status", "--config", cfg)
	if r.code != exitUsage || !strings.Contains(r.stderr, `line 2: unknown key "databse_url" (did you mean "database_url"?)`) {
		t.Errorf("bad config key: exit %d\n%s", r.code, r.stderr)
	}
}

// TestProvisionKeepsTheLockExitCode: a held lock inside provision exits 4
// with the lock's hint, as 'partitions ensure' does, not 1 with a string;
// the report is still rendered.
func TestProvisionKeepsTheLockExitCode(t *testing.T) {
	t.Parallel()
	env, db := migratedEnv(t, 0)
	env["QUANTX_NOW"] = "2031-06-01T00:00:00Z" // the partition horizon is short: provision has work
	pool, err := pgxpool.New(t.Context(), db.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	held, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- partitions.New(pool, partitions.Options{}).WithTableLock(context.Background(), partitions.MonthlyTable,
			func(context.Context, *pgx.Conn) error { close(held); <-release; return nil })
	}()
	<-held
	r := runCLI(t, env, "provision", "--lock-wait", "300ms", "-o", "json")
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r.code != exitLocked || !strings.Contains(r.stderr, "another runner holds the maintenance lock") || !strings.Contains(r.stderr, "hint: ") {
		t.Fatalf("exit %d, want 4 with a hint; stderr %q", r.code, r.stderr)
	}
	doc := decodeJSON[provisionDoc](t, r.stdout)
	if !doc.Failed || doc.Stores[0].Store != "postgres" || doc.Stores[0].Status != "failed" {
		t.Fatalf("report: %+v", doc)
	}
}

// TestStatusReportsUnreachableStores: with PostgreSQL and S3 unreachable,
// status still prints the whole report, with an error line per unreachable
// store, exits 1, and gives the hint of the first one.
func TestStatusReportsUnreachableStores(t *testing.T) {
	t.Parallel()
	in := testenv.Influx(t)
	env := map[string]string{
		"QUANTX_DATABASE_URL": "postgres://u:pw@" + closedPort(t) + "/db",
		"QUANTX_INFLUX_URL":   in.URL, "QUANTX_INFLUX_TOKEN": in.Token,
		"QUANTX_S3_ENDPOINT": closedPort(t), "QUANTX_S3_BUCKET": "quantx-nowhere",
		"QUANTX_S3_ACCESS_KEY": "k", "QUANTX_S3_SECRET_KEY": "s3-secret-k",
	}
	r := runCLI(t, env, "status", "-o", "json", "--influx-database", in.Database)
	if r.code != exitFailure {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	st := decodeJSON[statusDoc](t, r.stdout)
	if !st.Errors {
		t.Errorf("errors not flagged: %+v", st)
	}
	if it := statusItem(st, "postgres", "connect"); it.State != "error" || !strings.Contains(it.Detail, "connection refused") {
		t.Errorf("postgres line: %+v", it)
	}
	if it := statusItem(st, "s3", "backups"); it.State != "error" {
		t.Errorf("s3 line: %+v", it)
	}
	if it := statusItem(st, "influx", "drift"); it.State == "" || it.State == "error" {
		t.Errorf("the reachable InfluxDB is not reported: %+v", st.Items)
	}
	if it := statusItem(st, "elastic", "configured"); it.State != "skipped" {
		t.Errorf("elastic line: %+v", st.Items)
	}
	if !strings.Contains(r.stderr, "hint: is PostgreSQL running") || strings.Count(r.stderr, "\n") != 2 {
		t.Errorf("stderr: %q", r.stderr)
	}
}

// TestStatusOnAnEmptyDatabaseSaysNotMigrated: a database no migration ran on
// is an action ("not migrated", exit 3), not an error about a missing orders table.
func TestStatusOnAnEmptyDatabaseSaysNotMigrated(t *testing.T) {
	t.Parallel()
	env, db := dbEnv(t)
	r := runCLI(t, env, "status", "-o", "json")
	if r.code != exitCheck {
		t.Fatalf("exit %d, want 3\n%s", r.code, r.stderr)
	}
	st := decodeJSON[statusDoc](t, r.stdout)
	if it := statusItem(st, "postgres", "migrations"); it.State != "action" || !strings.HasPrefix(it.Detail, "not migrated") {
		t.Errorf("migrations line: %+v", it)
	}
	if st.Errors || !st.NeedsAction {
		t.Errorf("report: %+v", st)
	}
	if r := runCLI(t, env, "status", "--exit-code"); r.code != exitCheck || !strings.Contains(r.stderr, "not migrated") {
		t.Errorf("--exit-code: %d %s", r.code, r.stderr)
	}
	if r := runCLI(t, env, "status", "--exit-code=false"); r.code != exitOK || r.stderr != "" || !strings.Contains(r.stdout, "not migrated") {
		t.Errorf("--exit-code=false: %d %s", r.code, r.stderr)
	}
	if n := countTables(t, db.URL); n != 0 {
		t.Errorf("status created %d tables", n)
	}
}

// TestDoctorKeepsHintsAndUsage: an unreachable store is a failed check whose
// fix is the hint of its error; a bad setting is a usage error (exit 2), not
// a finding.
func TestDoctorKeepsHintsAndUsage(t *testing.T) {
	t.Parallel()
	r := runCLI(t, map[string]string{"QUANTX_DATABASE_URL": "postgres://u:pw@" + closedPort(t) + "/db"}, "doctor", "-o", "json")
	if r.code != exitCheck {
		t.Fatalf("exit %d, want 3\n%s", r.code, r.stderr)
	}
	doc := decodeJSON[statusDoc](t, r.stdout)
	if c := doc.items()["postgres/connect"]; c.State != "error" || !strings.Contains(c.Fix, "is PostgreSQL running") || !strings.Contains(c.Detail, "connection refused") {
		t.Errorf("no postgres connect check with its hint: %+v", doc.Items)
	}
	r = runCLI(t, map[string]string{"QUANTX_DATABASE_URL": "postgres://u:pw@127.0.0.1:54x32/db"}, "doctor")
	if r.code != exitUsage {
		t.Errorf("bad URL: exit %d, want 2\n%s", r.code, r.stderr)
	}
}

// TestHungPostgresFailsInBoundedTime: a server that accepts and never
// answers fails within connect_timeout (added by default), not never.
func TestHungPostgresFailsInBoundedTime(t *testing.T) {
	t.Parallel()
	start := time.Now()
	r := runCLI(t, nil, "migrate", "status", "--database-url", "postgres://u:pw@"+hungPeer(t)+"/db?sslmode=disable")
	if r.code != exitFailure || time.Since(start) > 30*time.Second {
		t.Fatalf("exit %d after %s\n%s", r.code, time.Since(start), r.stderr)
	}
}
