package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/quantx/quantx-db/internal/testenv"
)

// stackEnv is a whole QuantX stack on the test servers: its own PostgreSQL
// database, InfluxDB database and search prefix, so tests can share servers.
func stackEnv(t *testing.T) (map[string]string, []string, *testenv.PGDatabase, *testenv.InfluxDB) {
	t.Helper()
	db := testenv.Postgres(t)
	in := testenv.Influx(t)
	se := testenv.Search(t, "opensearch")
	b := testenv.S3(t)
	env := map[string]string{
		"QUANTX_DATABASE_URL": db.URL,
		"QUANTX_INFLUX_URL":   in.URL, "QUANTX_INFLUX_TOKEN": in.Token,
		"QUANTX_ELASTIC_URL": se.URL,
		"QUANTX_S3_ENDPOINT": b.Endpoint, "QUANTX_S3_ACCESS_KEY": b.AccessKey,
		"QUANTX_S3_SECRET_KEY": b.SecretKey, "QUANTX_S3_BUCKET": b.Bucket,
	}
	return env, []string{"--influx-database", in.Database, "--elastic-index-prefix", se.Prefix}, db, in
}

type provisionDoc struct {
	DryRun  bool `json:"dry_run"`
	Changed bool `json:"changed"`
	Failed  bool `json:"failed"`
	Stores  []struct {
		Store   string    `json:"store"`
		Status  string    `json:"status"`
		Note    string    `json:"note"`
		Plan    []stepDoc `json:"plan"`
		Applied []stepDoc `json:"applied"`
		Error   string    `json:"error"`
	} `json:"stores"`
}

// stepDoc is one change of a provisioning plan or run.
type stepDoc struct {
	Part   string `json:"part"`
	Op     string `json:"op"`
	Object string `json:"object"`
	Detail string `json:"detail"`
}

// hasStep reports whether a step of part has an object containing s.
func hasStep(steps []stepDoc, part, s string) bool {
	for _, st := range steps {
		if st.Part == part && strings.Contains(st.Object, s) {
			return true
		}
	}
	return false
}

// statusDoc is the one shape of status -o json and doctor -o json (README
// "One plan, one report"): decoded with unknown keys refused.
type statusDoc struct {
	CheckedAt   string     `json:"checked_at"`
	State       string     `json:"state"`
	Error       *errorBody `json:"error"`
	NeedsAction bool       `json:"needs_action"`
	Errors      bool       `json:"errors"`
	Problems    int        `json:"problems"`
	Items       []itemDoc  `json:"items"`
}

type itemDoc struct {
	Store       string   `json:"store"`
	Name        string   `json:"name"`
	State       string   `json:"state"`
	Detail      string   `json:"detail"`
	Fix         string   `json:"fix"`
	Count       *int64   `json:"count"`
	Rows        *int64   `json:"rows"`
	Version     *int64   `json:"version"`
	MonthsAhead *int64   `json:"months_ahead"`
	AgeSeconds  *float64 `json:"age_seconds"`
	SkewSeconds *float64 `json:"skew_seconds"`
}

// items maps the lines of a report by store/name.
func (d statusDoc) items() map[string]itemDoc {
	out := map[string]itemDoc{}
	for _, it := range d.Items {
		out[it.Store+"/"+it.Name] = it
	}
	return out
}

func decodeJSON[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields() // the documented keys, and only those
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, s)
	}
	return v
}

func TestProvisionThenStatusClean(t *testing.T) {
	t.Parallel()
	env, extra, db, _ := stackEnv(t)
	args := func(a ...string) []string { return append(a, extra...) }

	r := runCLI(t, env, args("provision", "--dry-run", "-o", "json")...)
	if r.code != exitOK {
		t.Fatalf("dry run: %d %s", r.code, r.stderr)
	}
	plan := decodeJSON[provisionDoc](t, r.stdout)
	if !plan.DryRun || plan.Changed || len(plan.Stores) != 3 {
		t.Fatalf("dry run doc: %+v", plan)
	}
	for _, s := range plan.Stores {
		if s.Status != "planned" || len(s.Plan) == 0 {
			t.Fatalf("store %s not planned: %+v", s.Store, s)
		}
	}
	if n := countTables(t, db.URL); n != 0 {
		t.Fatalf("dry run created %d tables", n)
	}

	r = runCLI(t, env, args("provision", "-o", "json")...)
	if r.code != exitOK {
		t.Fatalf("provision: %d %s", r.code, r.stderr)
	}
	if doc := decodeJSON[provisionDoc](t, r.stdout); !doc.Changed || doc.Failed {
		t.Fatalf("provision doc: %+v", doc)
	}
	r = runCLI(t, env, args("provision", "-o", "json")...)
	second := decodeJSON[provisionDoc](t, r.stdout)
	if r.code != exitOK || second.Changed {
		t.Fatalf("second provision changed something: %d %+v", r.code, second)
	}
	for _, s := range second.Stores {
		if s.Status != "unchanged" {
			t.Fatalf("second run: %s is %s", s.Store, s.Status)
		}
	}

	r = runCLI(t, env, args("status", "--exit-code", "-o", "json")...)
	st := decodeJSON[statusDoc](t, r.stdout)
	if r.code != exitOK || st.NeedsAction || st.Errors {
		t.Fatalf("status after provision: exit %d %+v\n%s", r.code, st, r.stderr)
	}
	stores := map[string]bool{}
	for _, it := range st.Items {
		stores[it.Store] = true
	}
	for _, s := range []string{"postgres", "influx", "elastic", "s3"} {
		if !stores[s] {
			t.Errorf("status has no line for %s", s)
		}
	}
	if got := statusItem(st, "s3", "backup postgres"); got.State != "warn" || !strings.Contains(got.Detail, "no backup") {
		t.Errorf("before any backup: %+v", got)
	}
	if got := statusItem(st, "postgres", "retention"); got.State != "ok" {
		t.Errorf("retention on a fresh stack: %+v", got)
	}

	// The newest backup shows in status with its id.
	if r := runCLI(t, env, "backup", "postgres", "-o", "json"); r.code != exitOK {
		t.Fatalf("backup: %d %s", r.code, r.stderr)
	}
	r = runCLI(t, env, args("status", "-o", "json")...)
	st = decodeJSON[statusDoc](t, r.stdout)
	if got := statusItem(st, "s3", "backup postgres"); got.State != "ok" || !strings.Contains(got.Detail, "-postgres-") {
		t.Errorf("after a backup: %+v", got)
	}
}

// statusItem finds one line of a status report (zero value if absent).
func statusItem(st statusDoc, store, name string) itemDoc { return st.items()[store+"/"+name] }

func TestStatusNamesTheDriftedStore(t *testing.T) {
	t.Parallel()
	env, extra, db, in := stackEnv(t)
	if r := runCLI(t, env, append([]string{"provision"}, extra...)...); r.code != exitOK {
		t.Fatalf("provision: %s", r.stderr)
	}
	// Drift by hand: a retention tier shortened, and a log row far in the
	// future that lands in the DEFAULT partition.
	if err := in.Query(t.Context(), `ALTER RETENTION POLICY "30_days_hourly" ON "`+in.Database+`" DURATION 2d`); err != nil {
		t.Fatal(err)
	}
	if _, err := connect(t, db.URL).Exec(context.Background(),
		`INSERT INTO activity_logs (action, resource_type, created_at) VALUES ('login', 'session', '2035-01-15 00:00:00+00')`); err != nil {
		t.Fatal(err)
	}
	// 27 months back: the three oldest months end before the 24-month cutoff,
	// whatever the day of the month, so retention is due for exactly 3.
	if r := runCLI(t, env, "partitions", "ensure", "--months-back", "27"); r.code != exitOK {
		t.Fatalf("ensure --months-back: %d %s", r.code, r.stderr)
	}
	r := runCLI(t, env, append([]string{"status", "--exit-code", "-o", "json"}, extra...)...)
	if r.code != exitCheck {
		t.Fatalf("status exit %d, want 3; %s", r.code, r.stderr)
	}
	st := decodeJSON[statusDoc](t, r.stdout)
	action := map[string]itemDoc{}
	for _, it := range st.Items {
		if it.State == "action" {
			action[it.Store+"/"+it.Name] = it
		}
	}
	if it, ok := action["influx/drift"]; !ok || it.Count == nil || *it.Count < 1 || !strings.Contains(it.Fix, "quantx-db influx setup") {
		t.Errorf("influx drift not reported with its count and fix: %+v", st.Items)
	}
	part, ok := action["postgres/partitions"]
	if !ok || !strings.Contains(part.Detail, "1 row(s) in DEFAULT (2035-01-15 to 2035-01-15)") || part.Rows == nil || *part.Rows != 1 {
		t.Errorf("rows in DEFAULT not reported: %+v", st.Items)
	}
	if strings.Contains(part.Detail, "quantx-db") {
		t.Errorf("the detail carries the fix: %q", part.Detail)
	}
	// The fix is a command that clears it: following it moves the row out.
	_, fix, _ := strings.Cut(part.Fix, "run 'quantx-db ")
	fix = strings.TrimSuffix(fix, "'")
	if !strings.Contains(fix, "--months-ahead") {
		t.Fatalf("fix %q does not reach 2035", part.Fix)
	}
	if r := runCLI(t, env, strings.Fields(fix)...); r.code != exitOK {
		t.Fatalf("%s: %d %s", fix, r.code, r.stderr)
	}
	after := decodeJSON[statusDoc](t, runCLI(t, env, append([]string{"status", "-o", "json"}, extra...)...).stdout)
	if got := statusItem(after, "postgres", "partitions"); got.State != "ok" {
		t.Errorf("after %q: %+v", fix, got)
	}
	if it := action["postgres/retention"]; !strings.Contains(it.Detail, "activity_logs: 3 partition(s) past 24 months") || it.Count == nil || *it.Count != 3 ||
		!strings.Contains(it.Fix, "quantx-db retention apply") {
		t.Errorf("retention due not reported: %+v", it)
	}
	if !strings.Contains(r.stderr, "needs action") {
		t.Errorf("stderr does not summarise: %q", r.stderr)
	}
}

func TestDoctorReportsMissingPrivilegeAndUnreachableStore(t *testing.T) {
	t.Parallel()
	db := testenv.Postgres(t)
	admin := connect(t, db.URL)
	role := "t_doctor_" + strings.ToLower(db.Name[len(db.Name)-8:])
	for _, q := range []string{
		`CREATE ROLE ` + role + ` LOGIN`,
		`REVOKE CREATE ON SCHEMA public FROM PUBLIC`,
	} {
		if _, err := admin.Exec(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	// Runs before admin is closed (cleanups run last-registered first).
	t.Cleanup(func() { admin.Exec(context.Background(), `DROP ROLE IF EXISTS `+role) })
	u := strings.Replace(db.URL, "postgres://postgres@", "postgres://"+role+"@", 1)
	env := map[string]string{"QUANTX_DATABASE_URL": u, "QUANTX_INFLUX_URL": "http://127.0.0.1:1"}
	r := runCLI(t, env, "doctor", "-o", "json")
	if r.code != exitCheck {
		t.Fatalf("doctor exit %d, want 3: %s", r.code, r.stderr)
	}
	doc := decodeJSON[statusDoc](t, r.stdout)
	found := doc.items()
	// A role that can do nothing on an empty database: told to use the owner
	// (or to create one), never advised to take DDL itself.
	if c := found["postgres/role"]; c.State != "action" || !strings.Contains(c.Fix, "roles ensure") || strings.Contains(c.Fix, "GRANT") {
		t.Errorf("missing privilege not reported with a fix: %+v", doc.Items)
	}
	if c := found["influx/connect"]; c.State != "error" || c.Fix == "" {
		t.Errorf("unreachable InfluxDB not reported: %+v", doc.Items)
	}
	if doc.Problems != 2 || !doc.Errors || !doc.NeedsAction {
		t.Errorf("doctor totals: %+v", doc)
	}
}
