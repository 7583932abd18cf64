package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quantx/quantx-db/influx"
	"github.com/quantx/quantx-db/internal/testenv"
)

func influxEnv(t *testing.T) (map[string]string, *testenv.InfluxDB) {
	db := testenv.Influx(t)
	return map[string]string{"QUANTX_INFLUX_URL": db.URL, "QUANTX_INFLUX_TOKEN": db.Token}, db
}

type influxStatusDoc struct {
	Server struct {
		Version string `json:"version"`
		Dialect string `json:"dialect"`
	} `json:"server"`
	Database string `json:"database"`
	InSync   bool   `json:"in_sync"`
	Objects  []struct {
		Kind, Name, State, Detail string
	} `json:"objects"`
	Drift []struct {
		Kind       string   `json:"kind"`
		Object     string   `json:"object"`
		Statements []string `json:"statements"`
	} `json:"drift"`
	Extras []struct{ Kind, Name string } `json:"extras"`
}

func TestInfluxSetupStatusCLI(t *testing.T) {
	t.Parallel()
	env, db := influxEnv(t)
	status := func(wantCode int) influxStatusDoc {
		t.Helper()
		r := runCLI(t, env, "influx", "status", "--database", db.Database, "-o", "json")
		if r.code != wantCode {
			t.Fatalf("status: exit %d, want %d; stderr %s", r.code, wantCode, r.stderr)
		}
		var st influxStatusDoc
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
			t.Fatalf("status json: %v\n%s", err, r.stdout)
		}
		return st
	}
	st := status(exitCheck)
	if st.InSync || len(st.Drift) != 13 || st.Server.Dialect != "1.x" || st.Database != db.Database {
		t.Fatalf("empty server: %+v", st)
	}

	r := runCLI(t, env, "influx", "setup", "--dry-run", "--database", db.Database, "-o", "json")
	if r.code != exitOK {
		t.Fatalf("dry run: exit %d: %s", r.code, r.stderr)
	}
	var rep struct {
		DryRun  bool `json:"dry_run"`
		Actions []struct {
			Statements []string `json:"statements"`
		} `json:"actions"`
		Backfill []any `json:"backfill"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || !rep.DryRun || len(rep.Actions) != 13 || rep.Backfill == nil ||
		!strings.HasPrefix(rep.Actions[0].Statements[0], "CREATE DATABASE") {
		t.Fatalf("dry run json: %v %s", err, r.stdout)
	}
	if st := status(exitCheck); len(st.Drift) != 13 {
		t.Fatalf("dry run changed the server: %d changes left", len(st.Drift))
	}

	if r := runCLI(t, env, "influx", "setup", "--database", db.Database); r.code != exitOK || !strings.Contains(r.stdout, "13 action(s) applied") {
		t.Fatalf("setup: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if st := status(exitOK); !st.InSync || len(st.Objects) != 14 || st.Drift == nil || st.Extras == nil {
		t.Fatalf("after setup: %+v", st)
	}
	if r := runCLI(t, env, "influx", "setup", "--database", db.Database); r.code != exitOK || !strings.Contains(r.stdout, "in sync; nothing to do") {
		t.Fatalf("second setup: exit %d\n%s", r.code, r.stdout)
	}

	if err := db.Query(t.Context(), fmt.Sprintf(`ALTER RETENTION POLICY "30_days_hourly" ON %q DURATION 2d`, db.Database)); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, env, "influx", "status", "--database", db.Database)
	if r.code != exitCheck || !strings.Contains(r.stdout, "duration 2d, want 30d") || !strings.Contains(r.stderr, "1 change(s) needed") {
		t.Fatalf("status after ALTER by hand: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, env, "influx", "setup", "--database", db.Database); r.code != exitOK || !strings.Contains(r.stdout, "ALTER RETENTION POLICY") {
		t.Fatalf("repair: exit %d\n%s", r.code, r.stdout)
	}
	status(exitOK)

	// Backfill over an empty window runs and reports its queries.
	r = runCLI(t, env, "influx", "setup", "--database", db.Database, "-o", "json",
		"--backfill-from", "2026-01-01T00:00:00Z", "--backfill-to", "2026-01-02T00:00:00Z")
	if r.code != exitOK || !strings.Contains(r.stdout, `"rollup": "cq_market_quotes_1h"`) {
		t.Fatalf("backfill: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

func TestInfluxSchemaCLI(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, "influx", "schema", "-o", "json")
	if r.code != exitOK {
		t.Fatalf("schema: exit %d: %s", r.code, r.stderr)
	}
	var doc struct {
		Database      string `json:"database"`
		LateTolerance string `json:"late_tolerance"`
		Windows       []struct {
			Tier, Recomputes string
		} `json:"windows"`
		Rollups []struct {
			Field  string   `json:"field"`
			Exact  bool     `json:"exact"`
			Fields []string `json:"fields"`
		} `json:"rollups"`
		Tiers []struct {
			Name     string `json:"name"`
			Duration string `json:"duration"`
		} `json:"tiers"`
		Measurements []struct {
			Name   string   `json:"name"`
			Tags   []string `json:"tags"`
			Fields []struct{ Name, Type, Rollup string }
		} `json:"measurements"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Database != "quantx_db" || len(doc.Measurements) != 5 ||
		doc.Tiers[2].Duration != "365d" || doc.LateTolerance != "2h" || len(doc.Windows) != 2 || doc.Windows[0].Recomputes != "3h" ||
		len(doc.Rollups) != 72 || !doc.Rollups[0].Exact {
		t.Fatalf("schema json: %v\n%s", err, r.stdout)
	}
	r = runCLI(t, nil, "influx", "schema")
	if r.code != exitOK || !strings.Contains(r.stdout, "volume") || !strings.Contains(r.stdout, "integer") {
		t.Fatalf("schema text: %s", r.stdout)
	}

	dir := t.TempDir()
	for _, tc := range []struct{ name, body, want string }{
		{"unknown-key.yaml", "database: x\ntiers:\n  - name: raw\n    duraton: 7d\n", "field duraton not found"},
		{"short.yaml", "database: x\ntiers:\n  - name: raw\n    duration: 30m\n", "below the server minimum of 1h"},
	} {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, []byte(tc.body), 0o600); err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, nil, "influx", "schema", "--file", path)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
			t.Errorf("%s: exit %d, stderr %q", tc.name, r.code, r.stderr)
		}
	}
}

func TestInfluxSchemaCheckCLI(t *testing.T) {
	t.Parallel()
	env, db := influxEnv(t)
	if r := runCLI(t, env, "influx", "setup", "--database", db.Database); r.code != exitOK {
		t.Fatalf("setup: %d %s", r.code, r.stderr)
	}
	if r := runCLI(t, env, "influx", "schema", "--check", "--database", db.Database); r.code != exitOK {
		t.Fatalf("check on empty database: exit %d %s", r.code, r.stderr)
	}
	// A writer breaks the contract: volume as a float.
	d := influx.DefaultDesired()
	d.Database = db.Database
	p, err := influx.New(influx.Options{URL: db.URL, Token: db.Token, Desired: &d})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write(t.Context(), "7_days_detailed", []byte("market_quotes,symbol=X volume=1.5")); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, env, "influx", "schema", "--check", "--database", db.Database, "-o", "json")
	var sc struct {
		OK       bool `json:"ok"`
		Findings []struct{ Measurement, Field, Want, Got, Problem string }
	}
	if r.code != exitCheck || json.Unmarshal([]byte(r.stdout), &sc) != nil || sc.OK || len(sc.Findings) != 1 ||
		sc.Findings[0].Field != "volume" || sc.Findings[0].Want != "integer" || sc.Findings[0].Got != "float" {
		t.Fatalf("check: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// The conflict on write is one clear line with a hint, exit 1.
	err = p.Write(t.Context(), "7_days_detailed", []byte("market_quotes,symbol=X volume=2i"))
	if ue := classify(t.Context(), err); ue.code != exitFailure || !strings.Contains(ue.msg, "field type conflict") || !strings.Contains(ue.hint, "influx schema") {
		t.Fatalf("write conflict: %+v", ue)
	}
}

func TestInfluxErrorsCLI(t *testing.T) {
	t.Parallel()
	env, db := influxEnv(t)
	user, _, _ := strings.Cut(db.Token, ":")
	bad := map[string]string{"QUANTX_INFLUX_URL": env["QUANTX_INFLUX_URL"], "QUANTX_INFLUX_TOKEN": user + ":not-the-password"}
	r := runCLI(t, bad, "influx", "status", "--database", db.Database)
	if r.code != exitFailure || !strings.Contains(r.stderr, "refused the credentials (401)") || !strings.Contains(r.stderr, "hint: check --influx-token") ||
		strings.Contains(r.stderr, "not-the-password") {
		t.Fatalf("bad credentials: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, map[string]string{"QUANTX_INFLUX_URL": "http://127.0.0.1:1"}, "influx", "setup", "-o", "json")
	if r.code != exitFailure || !strings.Contains(r.stderr, "unreachable") || !strings.Contains(r.stdout, `"exit_code": 1`) {
		t.Fatalf("unreachable: exit %d, stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	for _, args := range [][]string{
		{"influx", "setup", "--backfill-to", "2026-01-01T00:00:00Z"},
		{"influx", "setup", "--backfill-from", "yesterday"},
		{"influx", "setup", "--backfill-from", "2026-01-02T00:00:00Z", "--backfill-to", "2026-01-01T00:00:00Z"},
		{"influx", "status", "extra-arg"},
	} {
		if r := runCLI(t, env, args...); r.code != exitUsage {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	if r := runCLI(t, nil, "influx", "status"); r.code != exitUsage || !strings.Contains(r.stderr, "--influx-url") {
		t.Errorf("no url: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestInfluxBackfillStatusCLI: points older than the late tolerance are not rolled up by the schedule;
// influx status reports their intervals stale (exit 3, a hint naming the re-roll), influx backfill
// --since re-rolls them, and status is clean after. --late-tolerance is part of the desired state.
func TestInfluxBackfillStatusCLI(t *testing.T) {
	t.Parallel()
	env, db := influxEnv(t)
	if r := runCLI(t, env, "influx", "backfill", "--since", "24h", "--database", db.Database); r.code != exitFailure ||
		!strings.Contains(r.stderr, "not in sync") || !strings.Contains(r.stderr, "influx setup") {
		t.Fatalf("backfill before setup: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := runCLI(t, env, "influx", "setup", "--database", db.Database); r.code != exitOK {
		t.Fatalf("setup: exit %d: %s", r.code, r.stderr)
	}
	// Written now, stamped 5 and 6 hours ago: the hourly rollups recompute only the last 3 hours.
	d := influx.DefaultDesired()
	d.Database = db.Database
	p, err := influx.New(influx.Options{URL: db.URL, Token: db.Token, Desired: &d})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := p.Write(t.Context(), "7_days_detailed", fmt.Appendf(nil, "system_metrics,service=api,host=h1 cpu_usage=0.25 %d\nsystem_metrics,service=api,host=h1 cpu_usage=0.75 %d\n",
		now.Add(-5*time.Hour).UnixNano(), now.Add(-6*time.Hour).UnixNano())); err != nil {
		t.Fatal(err)
	}
	var st struct {
		InSync  bool `json:"in_sync"`
		Rollups struct {
			Checked int `json:"intervals_checked"`
			Stale   []struct {
				Tier, Measurement string
				Source            int64 `json:"source_points"`
			} `json:"stale"`
		} `json:"rollups"`
	}
	r := runCLI(t, env, "influx", "status", "--database", db.Database, "-o", "json")
	if r.code != exitCheck || json.Unmarshal([]byte(r.stdout), &st) != nil || !st.InSync || len(st.Rollups.Stale) != 2 ||
		st.Rollups.Stale[0].Tier != "30_days_hourly" || st.Rollups.Stale[0].Measurement != "system_metrics" ||
		!strings.Contains(r.stderr, "hint: re-roll them with 'quantx-db influx backfill --since ") {
		t.Fatalf("status with late points: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// The one report across stores says so too.
	r = runCLI(t, env, "status", "--influx-database", db.Database, "--exit-code", "-o", "json")
	if r.code != exitCheck {
		t.Fatalf("status with late points: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	all := decodeJSON[statusDoc](t, r.stdout)
	if it := all.items()["influx/rollups"]; it.State != "action" || !strings.Contains(it.Fix, "quantx-db influx backfill --since") || it.Count == nil || *it.Count != 2 {
		t.Fatalf("status items %+v: no influx rollups action", all.Items)
	}
	r = runCLI(t, env, "influx", "backfill", "--since", "24h", "--database", db.Database, "-o", "json")
	var rep struct {
		Steps []struct {
			Rollup  string `json:"rollup"`
			Written int64  `json:"points_written"`
		} `json:"backfill"`
	}
	if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &rep) != nil || len(rep.Steps) != 10 {
		t.Fatalf("backfill: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, s := range rep.Steps {
		if s.Rollup == "cq_system_metrics_1h" && s.Written != 2 {
			t.Errorf("hourly system_metrics re-roll wrote %d points, want 2", s.Written)
		}
	}
	if r := runCLI(t, env, "influx", "status", "--database", db.Database); r.code != exitOK || !strings.Contains(r.stdout, ", 0 stale") {
		t.Fatalf("status after the re-roll: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	// The tolerance is part of the desired state: another one is drift until setup applies it.
	r = runCLI(t, env, "influx", "status", "--database", db.Database, "--late-tolerance", "4h", "-o", "json")
	if r.code != exitCheck || !strings.Contains(r.stdout, "RESAMPLE FOR 5h") {
		t.Fatalf("status with --late-tolerance 4h: exit %d\n%s", r.code, r.stdout)
	}
	env2 := map[string]string{"QUANTX_INFLUX_LATE_TOLERANCE": "4h"}
	for k, v := range env {
		env2[k] = v
	}
	if r := runCLI(t, env2, "influx", "setup", "--database", db.Database); r.code != exitOK || !strings.Contains(r.stdout, "RESAMPLE FOR 5h") {
		t.Fatalf("setup with QUANTX_INFLUX_LATE_TOLERANCE=4h: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, args := range [][]string{
		{"influx", "backfill"},
		{"influx", "backfill", "--since", "24h", "--from", "2026-01-01T00:00:00Z"},
		{"influx", "backfill", "--to", "2026-01-01T00:00:00Z"},
		{"influx", "backfill", "--since", "soon"},
		{"influx", "status", "--late-tolerance", "7d"},
		{"influx", "status", "--late-tolerance", "2 hours"},
		{"influx", "status", "--stale-since", "-1h"},
	} {
		if r := runCLI(t, env, append(args, "--database", db.Database)...); r.code != exitUsage {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
}
