package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/internal/metrics"
	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/internal/testenv"
	"github.com/quantx/quantx-db/migrations"
	"github.com/quantx/quantx-db/retention"
)

// promFile parses a metrics file with the Prometheus text parser.
func promFile(t *testing.T, path string) map[string]*dto.MetricFamily {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("%s does not parse: %v", path, err)
	}
	return fams
}

// series returns the value of name{labels} (exactly those labels), and whether it exists.
func series(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, m := range fams[name].GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

// mustSeries fails the test unless name{labels} exists, and returns its value.
func mustSeries(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	v, ok := series(fams, name, labels...)
	if !ok {
		var have []string
		for _, m := range fams[name].GetMetric() {
			have = append(have, m.String())
		}
		t.Fatalf("no series %s%v; the file has %v", name, labels, have)
	}
	return v
}

// lastRuns maps each command of the file to the result of its last run.
func lastRuns(fams map[string]*dto.MetricFamily) map[string]string {
	out := map[string]string{}
	for _, m := range fams[metrics.LastRun.Name].GetMetric() {
		var cmd, res string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "command":
				cmd = l.GetValue()
			case "result":
				res = l.GetValue()
			}
		}
		out[cmd] = res
	}
	return out
}

func upFiles(t *testing.T) int {
	t.Helper()
	ups, err := fs.Glob(migrations.Files(), "*.up.sql")
	if err != nil {
		t.Fatal(err)
	}
	return len(ups)
}

// TestMetricsFileRecordsWhatCommandsDid runs real commands against a fresh
// database with QUANTX_METRICS_FILE and reads the file back with the
// Prometheus parser: figures, merge across commands, failures, usage errors.
func TestMetricsFileRecordsWhatCommandsDid(t *testing.T) {
	t.Parallel()
	env, db := dbEnv(t)
	file := filepath.Join(t.TempDir(), "quantx-db.prom")
	env["QUANTX_METRICS_FILE"] = file
	env["QUANTX_NOW"] = "2031-12-20T10:00:00Z"

	r := runCLI(t, env, "migrate", "up", "-o", "json")
	if r.code != exitOK {
		t.Fatalf("migrate up: exit %d: %s", r.code, r.stderr)
	}
	var rep migrations.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	fams := promFile(t, file)
	if n := mustSeries(t, fams, "quantx_db_migrations_applied", "command", "migrate up"); int(n) != upFiles(t) || len(rep.Applied) != upFiles(t) {
		t.Fatalf("migrations applied %v (report %d), want every migration: %d", n, len(rep.Applied), upFiles(t))
	}
	if v := mustSeries(t, fams, "quantx_db_schema_version", "command", "migrate up"); int64(v) != rep.ToVersion || countRows(t, db.URL, "SELECT max(version) FROM schema_migrations") != rep.ToVersion {
		t.Fatalf("schema version %v, report %d", v, rep.ToVersion)
	}
	first := mustSeries(t, fams, metrics.LastSuccess.Name, "command", "migrate up")
	if now := float64(time.Now().Unix()); math.Abs(now-first) > 60 {
		t.Fatalf("last success %v is not the wall clock %v (QUANTX_NOW pins only the partition clock)", first, now)
	}
	mustSeries(t, fams, metrics.LastRun.Name, "command", "migrate up", "result", "success")
	if d := mustSeries(t, fams, metrics.Duration.Name, "command", "migrate up"); d <= 0 || d > 300 {
		t.Fatalf("duration %v", d)
	}

	// A second run applies nothing; the last success moves on.
	if r := runCLI(t, env, "migrate", "up"); r.code != exitOK {
		t.Fatalf("second migrate up: %s", r.stderr)
	}
	fams = promFile(t, file)
	if n := mustSeries(t, fams, "quantx_db_migrations_applied", "command", "migrate up"); n != 0 {
		t.Fatalf("second run applied %v", n)
	}
	second := mustSeries(t, fams, metrics.LastSuccess.Name, "command", "migrate up")
	if second <= first {
		t.Fatalf("last success %v did not move past %v", second, first)
	}

	// partitions ensure: what it created, and the horizon; status sees the same horizon.
	if r := runCLI(t, env, "partitions", "ensure", "--months-ahead", "2"); r.code != exitOK {
		t.Fatalf("ensure: %s", r.stderr)
	}
	fams = promFile(t, file)
	if n := mustSeries(t, fams, "quantx_db_partitions_created", "command", "partitions ensure", "table", "activity_logs"); n != 3 ||
		countRows(t, db.URL, `SELECT count(*) FROM pg_class WHERE relname IN ('activity_logs_y2031m12', 'activity_logs_y2032m01', 'activity_logs_y2032m02')`) != 3 {
		t.Fatalf("partitions created %v", n)
	}
	if n := mustSeries(t, fams, "quantx_db_partitions_months_ahead", "command", "partitions ensure", "table", "activity_logs"); n != 2 {
		t.Fatalf("months ahead after ensure: %v, want 2", n)
	}
	mustSeries(t, fams, "quantx_db_partitions_rows_moved_from_default", "command", "partitions ensure", "table", "activity_logs")
	if r := runCLI(t, env, "status", "--exit-code=false"); r.code != exitOK { // retention is due: 3 by default
		t.Fatalf("status: exit %d: %s", r.code, r.stderr)
	}
	fams = promFile(t, file)
	if n := mustSeries(t, fams, "quantx_db_partitions_months_ahead", "command", "status", "table", "activity_logs"); n != 2 {
		t.Fatalf("months ahead from status: %v, want 2", n)
	}

	// A failing run: result failure, the last success kept, no figure of the run that failed
	// before doing anything; the other commands' series untouched.
	bad := map[string]string{"QUANTX_METRICS_FILE": file, "QUANTX_DATABASE_URL": fmt.Sprintf("postgres://nobody@127.0.0.1:%d/x?sslmode=disable", testenv.FreePort(t))}
	if r := runCLI(t, bad, "migrate", "up"); r.code != exitFailure {
		t.Fatalf("migrate up against nothing: exit %d", r.code)
	}
	// A usage error found after the flags were parsed, one found while parsing them (a typo:
	// the flag itself names the file), and help (not a run: nothing recorded).
	if r := runCLI(t, env, "partitions", "ensure", "--months-ahead", "-1"); r.code != exitUsage {
		t.Fatalf("negative months: exit %d", r.code)
	}
	if r := runCLI(t, map[string]string{}, "partitions", "list", "--no-such-flag", "--metrics-file", file); r.code != exitUsage {
		t.Fatalf("typo: exit %d", r.code)
	}
	if r := runCLI(t, env, "migrate", "status", "--help"); r.code != exitOK {
		t.Fatalf("help: exit %d", r.code)
	}
	fams = promFile(t, file)
	want := map[string]string{"migrate up": "failure", "partitions ensure": "usage", "partitions list": "usage", "status": "success"}
	if got := lastRuns(fams); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("last runs %v, want %v", got, want)
	}
	if v := mustSeries(t, fams, metrics.LastSuccess.Name, "command", "migrate up"); v != second {
		t.Fatalf("last success of migrate up %v after a failure, want %v kept", v, second)
	}
	if _, ok := series(fams, "quantx_db_migrations_applied", "command", "migrate up"); ok {
		t.Fatal("the failed run kept the figure of the successful one")
	}
	if n := mustSeries(t, fams, "quantx_db_partitions_months_ahead", "command", "status", "table", "activity_logs"); n != 2 {
		t.Fatalf("status series changed by other commands: %v", n)
	}
	mustSeries(t, fams, metrics.LastSuccess.Name, "command", "partitions ensure")
	for name, mf := range fams {
		if mf.GetHelp() == "" || mf.GetType() != dto.MetricType_GAUGE {
			t.Errorf("%s: help %q, type %s", name, mf.GetHelp(), mf.GetType())
		}
	}
}

// TestMetricsSettingsAndWhatIsNotARun: flag > QUANTX_METRICS_FILE > the config
// file's metrics_file; a bad setting elsewhere still records the usage error;
// help, completion and a dry run are not runs of the command.
func TestMetricsSettingsAndWhatIsNotARun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fromFlag, fromEnv, fromConfig := filepath.Join(dir, "flag.prom"), filepath.Join(dir, "env.prom"), filepath.Join(dir, "config.prom")
	cfg := filepath.Join(dir, "quantx-db.yaml")
	if err := os.WriteFile(cfg, []byte("metrics_file: "+fromConfig+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"QUANTX_CONFIG": cfg}
	if r := runCLI(t, env, "version"); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	env["QUANTX_METRICS_FILE"] = fromEnv
	if r := runCLI(t, env, "retention", "show"); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	if r := runCLI(t, env, "retention", "show", "-o", "json", "--metrics-file", fromFlag); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	for path, want := range map[string]string{fromConfig: "map[version:success]", fromEnv: "map[retention show:success]", fromFlag: "map[retention show:success]"} {
		if got := fmt.Sprint(lastRuns(promFile(t, path))); got != want {
			t.Errorf("%s: %s, want %s", filepath.Base(path), got, want)
		}
	}

	// A bad setting: the command fails with a usage error, recorded all the same.
	bad := map[string]string{"QUANTX_METRICS_FILE": fromEnv, "QUANTX_DATABASE_URL": "mysql://x@y/z"}
	if r := runCLI(t, bad, "migrate", "status"); r.code != exitUsage {
		t.Fatalf("bad url: exit %d: %s", r.code, r.stderr)
	}
	// Not runs: help, completion, the root alone. A dry run is labelled apart.
	for _, args := range [][]string{{"migrate", "up", "--help"}, {"help", "migrate"}, {"completion", "bash"},
		{"__complete", "migrate", ""}, {}} {
		runCLI(t, env, args...)
	}
	if r := runCLI(t, env, "retention", "apply", "--dry-run"); r.code != exitUsage {
		t.Fatalf("dry run without a database: exit %d: %s", r.code, r.stderr)
	}
	want := "map[migrate status:usage retention apply --dry-run:usage retention show:success]"
	if got := fmt.Sprint(lastRuns(promFile(t, fromEnv))); got != want {
		t.Fatalf("runs %s, want %s", got, want)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if n := e.Name(); !strings.HasSuffix(n, ".prom") && !strings.HasSuffix(n, ".prom.lock") && n != "quantx-db.yaml" {
			t.Errorf("left in the metrics folder: %s", n)
		}
	}
}

// TestMetricsBackupRetentionRestore: the figures of retention apply, backup
// postgres, backup list, backup verify, restore --verify and backup prune,
// each compared with what is really in the bucket and the databases.
func TestMetricsBackupRetentionRestore(t *testing.T) {
	t.Parallel()
	env, pool := schemaDB(t)
	b := testenv.S3(t)
	file := filepath.Join(t.TempDir(), "quantx-db.prom")
	env["QUANTX_METRICS_FILE"] = file
	env["QUANTX_NOW"] = "2030-06-15T00:00:00Z"
	env["QUANTX_S3_ENDPOINT"], env["QUANTX_S3_ACCESS_KEY"], env["QUANTX_S3_SECRET_KEY"], env["QUANTX_S3_BUCKET"] = b.Endpoint, b.AccessKey, b.SecretKey, b.Bucket
	if r := runCLI(t, env, "partitions", "ensure", "--months-back", "27", "--months-ahead", "0"); r.code != exitOK {
		t.Fatalf("ensure: %s", r.stderr)
	}
	if _, err := pool.Exec(t.Context(), "INSERT INTO activity_logs (action, resource_type, created_at) SELECT 'a', 'r', timestamptz '2028-03-01 00:00:00+00' + i * interval '1 hour' FROM generate_series(0, 999) i"); err != nil {
		t.Fatal(err)
	}
	parts := func() int64 {
		var n int64
		_ = pool.QueryRow(t.Context(), "SELECT count(*) FROM pg_inherits WHERE inhparent = 'activity_logs'::regclass").Scan(&n)
		return n
	}
	before := parts()
	r := runCLI(t, env, "retention", "apply", "--yes", "-o", "json")
	if r.code != exitOK {
		t.Fatalf("retention apply: exit %d: %s", r.code, r.stderr)
	}
	var rep retention.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	c, err := b.Client()
	if err != nil {
		t.Fatal(err)
	}
	var stored int64
	for _, p := range rep.Tables[0].Partitions {
		if p.Archive != nil {
			st, err := c.StatObject(t.Context(), b.Bucket, "quantx-db/"+p.Archive.Key, minio.StatObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			stored += st.Size
		}
	}
	fams := promFile(t, file)
	if n := mustSeries(t, fams, "quantx_db_retention_rows_archived", "command", "retention apply", "table", "activity_logs"); n != 1000 {
		t.Fatalf("rows archived %v, want 1000", n)
	}
	if n := mustSeries(t, fams, "quantx_db_retention_archived_bytes", "command", "retention apply", "table", "activity_logs"); n != float64(stored) || stored == 0 {
		t.Fatalf("bytes archived %v, %d in the bucket", n, stored)
	}
	if n := mustSeries(t, fams, "quantx_db_partitions_dropped", "command", "retention apply", "table", "activity_logs"); n == 0 || int64(n) != before-parts() {
		t.Fatalf("partitions dropped %v; %d partitions fewer", n, before-parts())
	}
	mustSeries(t, fams, "quantx_db_retention_rows_archived", "command", "retention apply", "table", "orders")

	// backup postgres: the newest backup's time and size, by kind and database.
	r = runCLI(t, env, "backup", "postgres", "-o", "json")
	if r.code != exitOK {
		t.Fatalf("backup: exit %d: %s", r.code, r.stderr)
	}
	var m backup.Manifest
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatal(err)
	}
	var objects int64
	for _, o := range m.Objects {
		st, err := c.StatObject(t.Context(), b.Bucket, "quantx-db/"+o.Key, minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		objects += st.Size
	}
	fams = promFile(t, file)
	for _, cmd := range []string{"backup postgres"} {
		ts := mustSeries(t, fams, "quantx_db_backup_last_timestamp_seconds", "command", cmd, "kind", "postgres", "database", m.Database)
		if math.Abs(ts-float64(m.FinishedAt.UnixNano())/1e9) > 1e-3 {
			t.Fatalf("%s: backup time %v, manifest %s", cmd, ts, m.FinishedAt)
		}
		if n := mustSeries(t, fams, "quantx_db_backup_last_size_bytes", "command", cmd, "kind", "postgres", "database", m.Database); n != float64(objects) {
			t.Fatalf("%s: backup bytes %v, %d in the bucket", cmd, n, objects)
		}
	}
	if r := runCLI(t, env, "backup", "list"); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	if r := runCLI(t, env, "backup", "verify", m.ID); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	dst := testenv.Postgres(t)
	r = runCLI(t, env, "restore", "postgres", m.ID, "--target-database-url", dst.URL, "--verify", "-o", "json")
	if r.code != exitOK {
		t.Fatalf("restore: exit %d: %s", r.code, r.stderr)
	}
	if r := runCLI(t, env, "backup", "prune", "--keep-last", "1", "--yes"); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	fams = promFile(t, file)
	if ts := mustSeries(t, fams, "quantx_db_backup_last_timestamp_seconds", "command", "backup list", "kind", "postgres", "database", m.Database); math.Abs(ts-float64(m.FinishedAt.UnixNano())/1e9) > 1e-3 {
		t.Fatalf("backup list: backup time %v", ts)
	}
	if v := mustSeries(t, fams, "quantx_db_backup_verify_ok", "command", "backup verify"); v != 1 {
		t.Fatalf("verify ok %v", v)
	}
	if v := mustSeries(t, fams, "quantx_db_restore_verify_ok", "command", "restore postgres", "kind", "postgres", "database", m.Database); v != 1 ||
		countRows(t, dst.URL, "SELECT count(*) FROM activity_logs") != countRows(t, env["QUANTX_DATABASE_URL"], "SELECT count(*) FROM activity_logs") {
		t.Fatalf("restore verify %v", v)
	}
	if v := mustSeries(t, fams, "quantx_db_restore_bytes", "command", "restore postgres", "kind", "postgres", "database", m.Database); v != float64(m.Size) {
		t.Fatalf("restore bytes %v, dump %d", v, m.Size)
	}
	if k, d := mustSeries(t, fams, "quantx_db_backups_kept", "command", "backup prune"), mustSeries(t, fams, "quantx_db_backups_deleted", "command", "backup prune"); k != 1 || d != 0 {
		t.Fatalf("prune kept %v deleted %v", k, d)
	}
	want := "map[backup list:success backup postgres:success backup prune:success backup verify:success partitions ensure:success restore postgres:success retention apply:success]"
	if got := fmt.Sprint(lastRuns(fams)); got != want {
		t.Fatalf("runs %s\nwant %s", got, want)
	}
}

// TestMetricsFileConcurrentWriters starts one real process per command, all
// at once, on one file: every command must be in the file at the end (no
// lost update), and the file must parse (never half written).
func TestMetricsFileConcurrentWriters(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "quantx-db.prom")
	var commands [][]string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" || sub.Name() == "version" {
				continue
			}
			if sub.HasSubCommands() {
				walk(sub)
				continue
			}
			commands = append(commands, strings.Fields(strings.TrimPrefix(sub.CommandPath(), "quantx-db ")))
		}
	}
	s, _, _ := output.TestStreams()
	walk(newRootCmd(newDeps(s, func(string) string { return "" })))
	if len(commands) < 20 {
		t.Fatalf("only %d commands", len(commands))
	}
	// Every command with a mistyped flag (a usage error, no server needed), and as many runs of
	// `version` (a success) in between; each process is a separate writer.
	var procs []*exec.Cmd
	for _, args := range commands {
		for _, a := range [][]string{append(append([]string{}, args...), "--no-such-flag"), {"version"}} {
			cmd := exec.Command(bin, append(a, "--metrics-file", file)...)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
			procs = append(procs, cmd)
		}
	}
	for _, p := range procs {
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range procs {
		p.Wait()
		if code := p.ProcessState.ExitCode(); code != exitUsage && code != exitOK {
			t.Errorf("%v: exit %d", p.Args, code)
		}
	}
	runs := lastRuns(promFile(t, file))
	var missing []string
	for _, args := range commands {
		if runs[strings.Join(args, " ")] != "usage" {
			missing = append(missing, strings.Join(args, " "))
		}
	}
	if runs["version"] != "success" {
		missing = append(missing, "version")
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		t.Fatalf("%d of %d processes lost their update: %v\n%v", len(missing), len(procs), missing, runs)
	}
	if len(runs) != len(commands)+1 {
		t.Fatalf("%d commands in the file, want %d", len(runs), len(commands)+1)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("the folder holds %v: temporary files left behind", names)
	}
	t.Logf("%d concurrent writers, %d commands", len(procs), len(runs))
}

// TestMetricsInterruptedRun: SIGINT while partitions ensure waits for a lock
// is recorded as result="interrupted" (exit 130), the last success untouched.
func TestMetricsInterruptedRun(t *testing.T) {
	t.Parallel()
	db := testenv.Postgres(t)
	file := filepath.Join(t.TempDir(), "quantx-db.prom")
	env := map[string]string{"QUANTX_DATABASE_URL": db.URL, "QUANTX_NOW": "2031-01-15T00:00:00Z", "QUANTX_METRICS_FILE": file}
	if r := runCLI(t, env, "migrate", "up"); r.code != exitOK {
		t.Fatalf("migrate up: %s", r.stderr)
	}
	execSQL(t, db.URL, `INSERT INTO activity_logs (action, resource_type, created_at) VALUES ('login', 'session', '2031-01-20')`)
	holdLock(t, db.URL, "SELECT count(*) FROM activity_logs_default")
	cmd, stderr := startBinary(t, env, "partitions", "ensure", "--lock-timeout", "0")
	waitFor(t, 60*time.Second, "ensure to wait for the lock on activity_logs_default", func() bool {
		return backends(t, db.AdminURL, db.Name, "quantx-db", true) == 1
	})
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, cmd); code != exitInterrupted {
		t.Fatalf("exit %d, want 130; stderr: %s", code, stderr)
	}
	fams := promFile(t, file)
	mustSeries(t, fams, metrics.LastRun.Name, "command", "partitions ensure", "result", "interrupted")
	mustSeries(t, fams, metrics.LastSuccess.Name, "command", "migrate up")
	if _, ok := series(fams, metrics.LastSuccess.Name, "command", "partitions ensure"); ok {
		t.Fatal("an interrupted run counted as a success")
	}
}

// TestMetricsPushgateway pushes to the real Pushgateway and reads the series
// back from it: a success replaces the command's group, a failure updates
// only the last run (the last success and the figures stay), and a
// Pushgateway that does not answer is a warning that keeps the exit code.
func TestMetricsPushgateway(t *testing.T) {
	t.Parallel()
	pg := testenv.Pushgateway(t)
	env, db := dbEnv(t)
	env["QUANTX_METRICS_PUSH"] = pg.URL
	group := pg.URL + "/metrics/job/" + metrics.Job + "/command@base64/bWlncmF0ZSB1cA" // "migrate up"
	t.Cleanup(func() {
		req, _ := http.NewRequest(http.MethodDelete, group, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	})
	gateway := func() map[string]*dto.MetricFamily {
		resp, err := http.Get(pg.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return fams
	}
	labels := func(extra ...string) []string {
		return append([]string{"command", "migrate up", "instance", "", "job", metrics.Job}, extra...)
	}
	if r := runCLI(t, env, "migrate", "up"); r.code != exitOK || r.stderr != "" && strings.Contains(r.stderr, "warning") {
		t.Fatalf("migrate up: exit %d: %s", r.code, r.stderr)
	}
	fams := gateway()
	if n := mustSeries(t, fams, "quantx_db_migrations_applied", labels()...); int(n) != upFiles(t) {
		t.Fatalf("pushed migrations applied %v, want %d", n, upFiles(t))
	}
	success := mustSeries(t, fams, metrics.LastSuccess.Name, labels()...)
	mustSeries(t, fams, metrics.LastRun.Name, labels("result", "success")...)

	// A failure: POST of the run series only.
	env["QUANTX_DATABASE_URL"] = fmt.Sprintf("postgres://nobody@127.0.0.1:%d/x?sslmode=disable", testenv.FreePort(t))
	if r := runCLI(t, env, "migrate", "up"); r.code != exitFailure {
		t.Fatalf("failing migrate up: exit %d", r.code)
	}
	fams = gateway()
	mustSeries(t, fams, metrics.LastRun.Name, labels("result", "failure")...)
	if _, ok := series(fams, metrics.LastRun.Name, labels("result", "success")...); ok {
		t.Fatal("the success series of the previous push is still there")
	}
	if v := mustSeries(t, fams, metrics.LastSuccess.Name, labels()...); v != success {
		t.Fatalf("last success %v after a failed run, want %v", v, success)
	}
	if n := mustSeries(t, fams, "quantx_db_migrations_applied", labels()...); int(n) != upFiles(t) {
		t.Fatalf("the figures of the last success are gone: %v", n)
	}
	_ = db

	// No Pushgateway there: a warning, and the command's own exit code.
	dead := map[string]string{"QUANTX_METRICS_PUSH": fmt.Sprintf("http://user:pushsecret@127.0.0.1:%d", testenv.FreePort(t))}
	r := runCLI(t, dead, "version")
	if r.code != exitOK || !strings.Contains(r.stderr, "quantx-db: warning: metrics not pushed") || strings.Contains(r.stderr, "pushsecret") {
		t.Fatalf("dead pushgateway: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestMetricsDocumented: every series has a HELP text and a line in the README.
func TestMetricsDocumented(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range append(metricsCatalogue(), metrics.LastRun, metrics.LastSuccess, metrics.Duration) {
		if g.Help == "" || !strings.HasSuffix(g.Help, ".") && !strings.HasSuffix(g.Help, ")") {
			t.Errorf("%s: help %q", g.Name, g.Help)
		}
		if !strings.Contains(string(readme), "`"+g.Name+"`") {
			t.Errorf("README does not list %s", g.Name)
		}
	}
	for _, v := range []string{"QUANTX_METRICS_FILE", "QUANTX_METRICS_PUSH", "--collector.textfile.directory"} {
		if !strings.Contains(string(readme), v) {
			t.Errorf("README does not mention %s", v)
		}
	}
}
