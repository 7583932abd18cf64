package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/quantx/quantx-db/internal/testenv"
)

// dbEnv is the env of a fresh, empty database: for tests of migrating.
func dbEnv(t *testing.T) (map[string]string, *testenv.PGDatabase) {
	db := testenv.Postgres(t)
	return map[string]string{"QUANTX_DATABASE_URL": db.URL}, db
}

// migratedEnv is the env of a fresh database at version (0: the newest), a
// copy of testenv's migrated template: for tests whose subject comes after
// the migrations.
func migratedEnv(t *testing.T, version uint64) (map[string]string, *testenv.PGDatabase) {
	db := testenv.MigratedPostgres(t, version)
	return map[string]string{"QUANTX_DATABASE_URL": db.URL}, db
}

func TestMigrateStatusExitCodeAndPlan(t *testing.T) {
	t.Parallel()
	env, db := dbEnv(t)
	r := runCLI(t, env, "migrate", "plan", "-o", "json")
	if r.code != exitOK {
		t.Fatalf("plan: exit %d: %s", r.code, r.stderr)
	}
	var plan struct {
		FromVersion int64 `json:"from_version"`
		Steps       []struct {
			File          string `json:"file"`
			NoTransaction bool   `json:"no_transaction"`
			SQL           string `json:"sql"`
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil || len(plan.Steps) == 0 || plan.Steps[0].SQL == "" {
		t.Fatalf("plan json: %v %s", err, r.stdout)
	}
	if n := countTables(t, db.URL); n != 0 {
		t.Fatalf("plan changed the database: %d tables", n)
	}
	if r := runCLI(t, env, "migrate", "status", "--exit-code"); r.code != exitCheck || !strings.Contains(r.stderr, "pending") {
		t.Fatalf("status with pending: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := runCLI(t, env, "migrate", "up", "-o", "json"); r.code != exitOK {
		t.Fatalf("up: exit %d: %s", r.code, r.stderr)
	}
	r = runCLI(t, env, "migrate", "status", "--exit-code", "-o", "json")
	if r.code != exitOK {
		t.Fatalf("status after up: exit %d: %s", r.code, r.stderr)
	}
	var st struct {
		CurrentVersion *int64 `json:"current_version"`
		Dirty          bool   `json:"dirty"`
		Migrations     []struct {
			Version    int64   `json:"version"`
			Name       string  `json:"name"`
			Applied    bool    `json:"applied"`
			AppliedAt  *string `json:"applied_at"`
			Checksum   string  `json:"checksum"`
			DurationMS *int64  `json:"duration_ms"`
		} `json:"migrations"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatal(err)
	}
	if st.CurrentVersion == nil || st.Dirty || len(st.Migrations) != len(plan.Steps) {
		t.Fatalf("status: %+v", st)
	}
	for _, m := range st.Migrations {
		if !m.Applied || m.AppliedAt == nil || len(m.Checksum) != 64 || m.DurationMS == nil {
			t.Fatalf("migration status missing documented keys: %+v", m)
		}
	}
}

func TestMigrateValidateExitsThreeOnAnEditedFile(t *testing.T) {
	t.Parallel()
	env, _ := dbEnv(t)
	dir := t.TempDir()
	for _, n := range []string{"0001_a.up.sql", "0001_a.down.sql", "0002_b.up.sql", "0002_b.down.sql"} {
		body := "CREATE TABLE t_" + n[5:6] + " (id int);\n"
		if strings.Contains(n, "down") {
			body = "DROP TABLE t_" + n[5:6] + ";\n"
		}
		os.WriteFile(dir+"/"+n, []byte(body), 0o644)
	}
	if r := runCLI(t, env, "migrate", "up", "--source", dir); r.code != exitOK {
		t.Fatalf("up: %d %s", r.code, r.stderr)
	}
	if r := runCLI(t, env, "migrate", "validate", "--source", dir); r.code != exitOK {
		t.Fatalf("validate clean: %d %s", r.code, r.stderr)
	}
	os.WriteFile(dir+"/0001_a.up.sql", []byte("CREATE TABLE t_a (id bigint);\n"), 0o644)
	r := runCLI(t, env, "migrate", "validate", "--source", dir)
	if r.code != exitCheck || !strings.Contains(r.stderr, "0001_a.up.sql") || !strings.Contains(r.stdout, "0001_a.up.sql") {
		t.Fatalf("validate after edit: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
}

func TestMigrateDownNeedsYes(t *testing.T) {
	t.Parallel()
	env, db := migratedEnv(t, 0)
	before := countTables(t, db.URL)
	r := runCLI(t, env, "migrate", "down", "--all")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--yes") || !strings.Contains(r.stdout, "down") {
		t.Fatalf("down without --yes: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if countTables(t, db.URL) != before {
		t.Fatal("down without --yes changed the database")
	}
	if r := runCLI(t, env, "migrate", "down", "2"); r.code != exitUsage {
		t.Fatalf("down 2 without --yes: %d", r.code)
	}
	if r := runCLI(t, env, "migrate", "down"); r.code != exitUsage || !strings.Contains(r.stderr, "exactly one of N or --all") {
		t.Fatalf("down without N: %d %s", r.code, r.stderr)
	}
	if r := runCLI(t, env, "migrate", "down", "--all", "--yes"); r.code != exitOK {
		t.Fatalf("down --all --yes: %d %s", r.code, r.stderr)
	}
	if n := countTables(t, db.URL); n != 2 { // only schema_migrations and the history remain
		t.Fatalf("%d tables after down --all", n)
	}
}

func TestBadInputExitsTwoAndNeverPrintsThePassword(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"no database", nil, []string{"migrate", "status"}, exitUsage, "no PostgreSQL database configured"},
		{"bad N", map[string]string{"QUANTX_DATABASE_URL": "postgres://u:hunter22@127.0.0.1:1/x"}, []string{"migrate", "up", "zero"}, exitUsage, `invalid N "zero"`},
		{"bad version", nil, []string{"migrate", "goto", "v7"}, exitUsage, `invalid VERSION "v7"`},
		{"unknown flag", nil, []string{"migrate", "up", "--bogus"}, exitUsage, "unknown flag: --bogus"},
		{"bad output", nil, []string{"version", "-o", "yaml"}, exitUsage, `unknown output format "yaml"`},
		{"wrong scheme", map[string]string{"QUANTX_DATABASE_URL": "mysql://u:hunter22@h/db"}, []string{"migrate", "status"}, exitUsage, "scheme must be postgres"},
		{"unreachable", map[string]string{"QUANTX_DATABASE_URL": "postgres://u:hunter22@127.0.0.1:1/x?connect_timeout=2"}, []string{"migrate", "status"}, exitFailure, "postgres://u:***@127.0.0.1:1/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.env, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", r.code, tt.code, r.stderr, tt.want)
			}
			if strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
				t.Errorf("more than an error line and a hint: %q", r.stderr)
			}
			if strings.Contains(r.stdout+r.stderr, "hunter22") {
				t.Fatalf("password printed: %s %s", r.stdout, r.stderr)
			}
		})
	}
}

func TestJSONErrorDocument(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, "migrate", "status", "-o", "json")
	var doc struct {
		Error struct {
			Message  string `json:"message"`
			ExitCode int    `json:"exit_code"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Error.ExitCode != exitUsage || doc.Error.Message == "" {
		t.Fatalf("json error doc: %v %q", err, r.stdout)
	}
}

// TestConcurrentRunners starts 8 real quantx-db processes on an empty database:
// exactly one applies the migrations, all exit 0, nothing is dirty.
func TestConcurrentRunners(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	_, db := dbEnv(t)
	const n = 8
	var wg sync.WaitGroup
	type res struct {
		code    int
		applied int
		out     string
	}
	results := make([]res, n)
	for i := range n {
		wg.Go(func() {
			cmd := exec.Command(bin, "migrate", "up", "-o", "json", "--log-level", "warn")
			cmd.Env = []string{"QUANTX_DATABASE_URL=" + db.URL, "HOME=" + os.Getenv("HOME")}
			out, err := cmd.Output()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				code = -1
			}
			var rep struct {
				Applied []json.RawMessage `json:"applied"`
			}
			json.Unmarshal(out, &rep)
			results[i] = res{code, len(rep.Applied), string(out)}
		})
	}
	wg.Wait()
	appliedBy := 0
	for i, r := range results {
		if r.code != 0 {
			t.Errorf("runner %d exited %d: %s", i, r.code, r.out)
		}
		if r.applied > 0 {
			appliedBy++
		}
	}
	if appliedBy != 1 {
		t.Fatalf("%d runners applied migrations, want exactly 1", appliedBy)
	}
	conn := connect(t, db.URL)
	var v int64
	var dirty bool
	if err := conn.QueryRow(t.Context(), "SELECT version, dirty FROM schema_migrations").Scan(&v, &dirty); err != nil || dirty {
		t.Fatalf("version %d dirty %v: %v", v, dirty, err)
	}
	var ups int
	conn.QueryRow(t.Context(), "SELECT count(*) FROM quantx_migration_history WHERE direction='up'").Scan(&ups)
	if ups != countFiles(t) {
		t.Fatalf("%d up rows in history, want %d (each migration applied once)", ups, countFiles(t))
	}
}

func countFiles(t *testing.T) int {
	r := runCLI(t, nil, "migrate", "lint", "-o", "json")
	var res struct {
		Files int `json:"files"`
	}
	json.Unmarshal([]byte(r.stdout), &res)
	return res.Files
}

func connect(t *testing.T, u string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func countTables(t *testing.T, u string) int {
	var n int
	if err := connect(t, u).QueryRow(t.Context(), "SELECT count(*) FROM pg_tables WHERE schemaname='public'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
