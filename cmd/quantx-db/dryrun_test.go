package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"

	"github.com/quantx/quantx-db/internal/testenv"
	"github.com/quantx/quantx-db/partitions"
	"github.com/quantx/quantx-db/retention"
)

// limitedRole makes a login role that can read every table of db but owns
// nothing, and drops it when the test ends.
func limitedRole(t *testing.T, db *testenv.PGDatabase, pool *pgxpool.Pool) string {
	t.Helper()
	role := pgx.Identifier{db.Name + "_ro"}.Sanitize()
	execSQL(t, db.URL, "CREATE ROLE "+role+" LOGIN; GRANT SELECT ON ALL TABLES IN SCHEMA public TO "+role)
	t.Cleanup(func() {
		ctx := context.Background()
		pool.Exec(ctx, "DROP OWNED BY "+role)
		admin, err := pgx.Connect(ctx, db.AdminURL)
		if err == nil {
			// The database is dropped after this cleanup: the role's grants go with it.
			admin.Exec(ctx, "DROP ROLE IF EXISTS "+role)
			admin.Close(ctx)
		}
	})
	return asRole(t, db.URL, db.Name+"_ro")
}

type dataState struct {
	partitions           []string
	logs, archivedOrders int64
}

func readState(t *testing.T, pool *pgxpool.Pool) dataState {
	t.Helper()
	var s dataState
	rows, err := pool.Query(t.Context(), "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'activity_logs'::regclass ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	if s.partitions, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(t.Context(), "SELECT (SELECT count(*) FROM activity_logs), (SELECT count(*) FROM orders WHERE archived)").Scan(&s.logs, &s.archivedOrders); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s dataState) String() string {
	return fmt.Sprintf("%d partitions %v, %d log rows, %d archived orders", len(s.partitions), s.partitions, s.logs, s.archivedOrders)
}

func sameState(a, b dataState) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// TestRetentionDryRunPredicts: a dry run checks what the real run needs and
// fails as it would (no bucket: exit 2; a role that owns nothing: exit 1);
// when it succeeds, it changed nothing and the real run does what it listed.
func TestRetentionDryRunPredicts(t *testing.T) {
	t.Parallel()
	env, pool := schemaDB(t)
	env["QUANTX_NOW"] = "2030-06-15T00:00:00Z"
	if r := runCLI(t, env, "partitions", "ensure", "--months-back", "27", "--months-ahead", "0"); r.code != exitOK {
		t.Fatalf("ensure: %s", r.stderr)
	}
	if _, err := pool.Exec(t.Context(), "INSERT INTO activity_logs (action, resource_type, created_at) SELECT 'a', 'r', timestamptz '2028-03-01 00:00:00+00' + i * interval '1 hour' FROM generate_series(0, 999) i"); err != nil {
		t.Fatal(err)
	}
	before := readState(t, pool)

	// No bucket: the dry run exits 2 like the real run (it used to list "would be archived" and exit 0).
	dry := runCLI(t, env, "retention", "apply", "--dry-run")
	real := runCLI(t, env, "retention", "apply", "--yes")
	if dry.code != exitUsage || real.code != exitUsage || !strings.Contains(dry.stderr, "no S3 bucket is configured") {
		t.Fatalf("without S3: dry run exit %d %q, real run exit %d %q", dry.code, dry.stderr, real.code, real.stderr)
	}

	// A role that owns nothing: both exit 1, the dry run saying why.
	b := testenv.S3(t)
	env["QUANTX_S3_ENDPOINT"], env["QUANTX_S3_ACCESS_KEY"], env["QUANTX_S3_SECRET_KEY"], env["QUANTX_S3_BUCKET"] = b.Endpoint, b.AccessKey, b.SecretKey, b.Bucket
	db := &testenv.PGDatabase{URL: env["QUANTX_DATABASE_URL"]}
	var name string
	if err := pool.QueryRow(t.Context(), "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	db.Name, db.AdminURL = name, testenv.PostgresAdminURL(t)
	limited := map[string]string{}
	for k, v := range env {
		limited[k] = v
	}
	limited["QUANTX_DATABASE_URL"] = limitedRole(t, db, pool)
	dry = runCLI(t, limited, "retention", "apply", "--dry-run")
	real = runCLI(t, limited, "retention", "apply", "--yes", "--lock-wait", "5s")
	if dry.code != exitFailure || !strings.Contains(dry.stderr, "does not own activity_logs") || !strings.Contains(dry.stderr, "hint:") || real.code != exitFailure {
		t.Fatalf("as a role that owns nothing: dry run exit %d %q, real run exit %d %q", dry.code, dry.stderr, real.code, real.stderr)
	}
	if !strings.Contains(dry.stdout, "would be archived") {
		t.Errorf("the dry run's plan is shown before the failure: %q", dry.stdout)
	}
	if after := readState(t, pool); !sameState(before, after) {
		t.Fatalf("failed runs changed data: before %s, after %s", before, after)
	}

	// The owner: the dry run lists the months, changes nothing, and the real run drops exactly those.
	dry = runCLI(t, env, "retention", "apply", "--dry-run", "-o", "json")
	if dry.code != exitOK {
		t.Fatalf("dry run: exit %d %s", dry.code, dry.stderr)
	}
	if after := readState(t, pool); !sameState(before, after) {
		t.Fatalf("dry run changed data: before %s, after %s", before, after)
	}
	c, _ := b.Client()
	for o := range c.ListObjects(t.Context(), b.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		t.Fatalf("dry run wrote %s to the bucket", o.Key)
	}
	var plan, rep retention.Report
	if err := json.Unmarshal([]byte(dry.stdout), &plan); err != nil || !plan.DryRun || len(plan.Tables[0].Partitions) == 0 {
		t.Fatalf("dry run report: %v %s", err, dry.stdout)
	}
	real = runCLI(t, env, "retention", "apply", "--yes", "-o", "json", "--log-format", "json")
	if real.code != exitOK {
		t.Fatalf("apply: exit %d %s", real.code, real.stderr)
	}
	// Its progress, as JSON log records: the months, and each month's archive.
	for _, want := range []string{`"msg":"progress","phase":"retention","subject":"activity_logs","unit":"partitions"`, `"msg":"progress","phase":"archive"`} {
		if !strings.Contains(real.stderr, want) {
			t.Errorf("no %s record in the JSON logs:\n%s", want, real.stderr)
		}
	}
	if err := json.Unmarshal([]byte(real.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	var predicted, done []string
	for _, p := range plan.Tables[0].Partitions {
		predicted = append(predicted, p.Partition)
	}
	for _, p := range rep.Tables[0].Partitions {
		if p.Dropped {
			done = append(done, p.Partition)
		}
	}
	if fmt.Sprint(predicted) != fmt.Sprint(done) || plan.Tables[1].Rows != rep.Tables[1].Rows {
		t.Fatalf("dry run predicted %v and %d orders; the run dropped %v and flagged %d", predicted, plan.Tables[1].Rows, done, rep.Tables[1].Rows)
	}
}

// TestPartitionsEnsureDryRun: the dry run lists the months and the rows that
// would leave DEFAULT, creates nothing, and the real run does exactly that; a
// role that may not create them gets the real run's exit code.
func TestPartitionsEnsureDryRun(t *testing.T) {
	t.Parallel()
	env, pool := schemaDB(t)
	env["QUANTX_NOW"] = "2031-12-20T10:00:00Z"
	// Rows for February 2032 wait in DEFAULT.
	if _, err := pool.Exec(t.Context(), "INSERT INTO activity_logs (action, resource_type, created_at) SELECT 'a', 'r', timestamptz '2032-02-03 00:00:00+00' + i * interval '1 minute' FROM generate_series(1, 7) i"); err != nil {
		t.Fatal(err)
	}
	before := readState(t, pool)
	r := runCLI(t, env, "partitions", "ensure", "--months-ahead", "3", "--dry-run", "-o", "json")
	if r.code != exitOK {
		t.Fatalf("dry run: exit %d %s", r.code, r.stderr)
	}
	var plan, rep partitions.EnsureReport
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil || !plan.DryRun || len(plan.Created) == 0 || plan.RowsMoved != 7 {
		t.Fatalf("plan: %v %s", err, r.stdout)
	}
	if after := readState(t, pool); !sameState(before, after) {
		t.Fatalf("dry run changed data: before %s, after %s", before, after)
	}
	var inDefault int64
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM ONLY activity_logs_default").Scan(&inDefault); err != nil || inDefault != 7 {
		t.Fatalf("rows in DEFAULT after the dry run: %d %v", inDefault, err)
	}
	if text := runCLI(t, env, "partitions", "ensure", "--months-ahead", "3", "--dry-run"); !strings.Contains(text.stdout, "dry run: would create") {
		t.Errorf("text dry run: %s", text.stdout)
	}

	var name string
	if err := pool.QueryRow(t.Context(), "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	limited := map[string]string{"QUANTX_NOW": env["QUANTX_NOW"], "QUANTX_DATABASE_URL": limitedRole(t, &testenv.PGDatabase{URL: env["QUANTX_DATABASE_URL"], Name: name, AdminURL: testenv.PostgresAdminURL(t)}, pool)}
	dry := runCLI(t, limited, "partitions", "ensure", "--months-ahead", "3", "--dry-run")
	real := runCLI(t, limited, "partitions", "ensure", "--months-ahead", "3")
	if dry.code != exitFailure || !strings.Contains(dry.stderr, "would fail") || real.code != exitFailure {
		t.Fatalf("as a role that owns nothing: dry run exit %d %q, real run exit %d %q", dry.code, dry.stderr, real.code, real.stderr)
	}

	r = runCLI(t, env, "partitions", "ensure", "--months-ahead", "3", "-o", "json")
	if r.code != exitOK {
		t.Fatalf("ensure: exit %d %s", r.code, r.stderr)
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rep.Created) != fmt.Sprint(plan.Created) || rep.RowsMoved != plan.RowsMoved || rep.DefaultRows != plan.DefaultRows {
		t.Fatalf("dry run predicted %v, %d moved, %d left; the run made %v, %d moved, %d left",
			plan.Created, plan.RowsMoved, plan.DefaultRows, rep.Created, rep.RowsMoved, rep.DefaultRows)
	}
}

// TestRestoreDryRun: the dry run restores nothing, reports the checks, and
// exits as the restore would: 2 for a non-empty target without --yes or an
// unknown backup, 0 otherwise; then the restore succeeds.
func TestRestoreDryRun(t *testing.T) {
	t.Parallel()
	env, db, _ := backupEnv(t)
	execSQL(t, db.URL, `CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 100)`)
	if r := runCLI(t, env, "backup", "postgres"); r.code != exitOK {
		t.Fatalf("backup: %s", r.stderr)
	}
	id := listBackups(t, env).Backups[0].ID
	dst := testenv.Postgres(t)
	tables := func() int {
		conn, err := pgx.Connect(t.Context(), dst.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var n int
		if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	r := runCLI(t, env, "restore", "postgres", id, "--target-database-url", dst.URL, "--jobs", "2", "--dry-run")
	if r.code != exitOK || !strings.Contains(r.stdout, "dry run: would restore "+id) || !strings.Contains(r.stdout, "checked: pg_restore 15") || tables() != 0 {
		t.Fatalf("dry run: exit %d, %d tables after\n%s%s", r.code, tables(), r.stdout, r.stderr)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"unknown backup", []string{"20991231T000000Z-postgres-nope-abcdef", "--target-database-url", dst.URL}, exitUsage},
		{"non-empty target", []string{id, "--target-database-url", db.URL}, exitUsage},
		{"temp dir that does not exist", []string{id, "--target-database-url", dst.URL, "--jobs", "2", "--temp-dir", "/nonexistent/quantx"}, exitFailure},
	} {
		dry := runCLI(t, env, append([]string{"restore", "postgres", "--dry-run"}, tc.args...)...)
		real := runCLI(t, env, append([]string{"restore", "postgres"}, tc.args...)...)
		if dry.code != tc.code || real.code != tc.code {
			t.Errorf("%s: dry run exit %d %q, restore exit %d %q, want %d", tc.name, dry.code, dry.stderr, real.code, real.stderr, tc.code)
		}
	}
	if n := tables(); n != 0 {
		t.Fatalf("%d tables in the target after the failed runs", n)
	}
	if r := runCLI(t, env, "restore", "postgres", id, "--target-database-url", dst.URL, "--jobs", "2", "--verify"); r.code != exitOK || tables() != 1 {
		t.Fatalf("restore after the dry run: exit %d %s", r.code, r.stderr)
	}
	// Over the restored database: refused without --yes, planned with it.
	if r := runCLI(t, env, "restore", "postgres", id, "--target-database-url", dst.URL, "--dry-run", "--yes"); r.code != exitOK || !strings.Contains(r.stdout, "--clean") {
		t.Fatalf("dry run over a restored database with --yes: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
}

// TestElasticReindexDryRun: the dry run names the indices and the documents,
// changes no index or alias, and the reindex then does what it said.
func TestElasticReindexDryRun(t *testing.T) {
	t.Parallel()
	srv := testenv.Search(t, "opensearch")
	env := map[string]string{"QUANTX_ELASTIC_URL": srv.URL}
	cli := func(want int, args ...string) cliResult {
		t.Helper()
		r := runCLI(t, env, append(append([]string{"elastic"}, args...), "--index-prefix", srv.Prefix)...)
		if r.code != want {
			t.Fatalf("%v: exit %d, want %d\nstdout %s\nstderr %s", args, r.code, want, r.stdout, r.stderr)
		}
		return r
	}
	// Not set up: the dry run fails as the reindex would.
	dry := runCLI(t, env, "elastic", "reindex", "instruments", "--dry-run", "--index-prefix", srv.Prefix)
	real := runCLI(t, env, "elastic", "reindex", "instruments", "--yes", "--index-prefix", srv.Prefix)
	if dry.code == exitOK || dry.code != real.code {
		t.Fatalf("before setup: dry run exit %d %q, reindex exit %d %q", dry.code, dry.stderr, real.code, real.stderr)
	}
	cli(exitOK, "setup")
	base := srv.Prefix + "quantx-instruments"
	for _, id := range []string{"A", "B", "C"} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, srv.URL+"/"+base+"-write/_doc/"+id+"?refresh=true", strings.NewReader(`{"symbol":"`+id+`"}`))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode >= 300 {
			t.Fatalf("index %s: %v %v", id, res, err)
		}
		res.Body.Close()
	}
	indices := func() string {
		res, err := http.Get(srv.URL + "/_cat/aliases/" + base + "*?h=alias,index&s=alias")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		res2, err := http.Get(srv.URL + "/_cat/indices/" + base + "*?h=index&s=index")
		if err != nil {
			t.Fatal(err)
		}
		defer res2.Body.Close()
		b2, _ := io.ReadAll(res2.Body)
		return string(b) + string(b2)
	}
	before := indices()
	r := cli(exitOK, "reindex", "instruments", "--dry-run", "-o", "json")
	var plan, rep struct {
		DryRun      bool   `json:"dry_run"`
		From        string `json:"from"`
		To          string `json:"to"`
		SourceCount int64  `json:"source_count"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil || !plan.DryRun || plan.SourceCount != 3 {
		t.Fatalf("plan: %v %s", err, r.stdout)
	}
	if after := indices(); after != before {
		t.Fatalf("the dry run changed indices or aliases:\nbefore\n%s\nafter\n%s", before, after)
	}
	r = cli(exitOK, "reindex", "instruments", "--keep-old", "-o", "json", "--log-format", "json")
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if want := `"msg":"progress","phase":"copy","subject":"` + base + `-v4","unit":"documents","done":3,"total":3`; !strings.Contains(r.stderr, want) {
		t.Errorf("no %s record in the JSON logs:\n%s", want, r.stderr)
	}
	if rep.To != plan.To || rep.From != plan.From || rep.SourceCount != plan.SourceCount || plan.To != base+"-v4" {
		t.Fatalf("dry run said %s → %s (%d documents); the reindex did %s → %s (%d)", plan.From, plan.To, plan.SourceCount, rep.From, rep.To, rep.SourceCount)
	}
}
