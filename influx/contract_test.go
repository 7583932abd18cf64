package influx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quantx/quantx-db/internal/influxclient"
	"github.com/quantx/quantx-db/internal/testenv"
)

// The same contract runs against InfluxDB 1.8 and 2.7, as elastic's does
// against its two engines and golang-migrate's drivers all pass
// database/testing.Test. What differs is said once, in the two targets below:
// how an operator changes things by hand, and which objects a version has.
func TestContractV1(t *testing.T) {
	t.Parallel()
	testDialect(t, target1x)
}

func TestContractV2(t *testing.T) {
	t.Parallel()
	testDialect(t, target2x)
}

// target is one major version for the contract.
type target struct {
	dialect     Dialect
	version     string // the prefix of the version the test server reports
	open        func(t *testing.T) *testDB
	setupWrites int // actions of a first setup of the built-in desired state
	// drift is what status plans after testDB.drift, replace after changing one rollup.
	drift   func(db string) []string
	replace []string
	// objects checks, with the server's own API, what setup made beyond what
	// the provisioner reports.
	objects func(t *testing.T, x *testDB)
}

// testDB is one test's database on a real server, with what an operator
// would do by hand, each version its own way.
type testDB struct {
	db, url, token, org string
	c                   *influxclient.Client
	// drift cuts the hourly tier's retention to 2d, disables the daily
	// risk_metrics rollup and adds an unknown tier "scratch".
	drift func(t *testing.T)
	// legacy gives the daily market_quotes rollup the body an older quantx-db
	// made: a mean of the hourly means, no carriers. It returns the drift
	// status then reports.
	legacy func(t *testing.T) string
}

func (x *testDB) provisioner(t *testing.T, token string, edit func(*Desired)) *Provisioner {
	t.Helper()
	d := DefaultDesired()
	d.Database = x.db
	if edit != nil {
		edit(&d)
	}
	p, err := New(Options{URL: x.url, Token: token, Org: x.org, Desired: &d})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// influxQL runs a statement on the test's database (2.x: through the DBRP mappings setup made).
func (x *testDB) influxQL(t *testing.T, stmt string) []influxclient.Series {
	t.Helper()
	res, err := x.c.Query(t.Context(), influxclient.Query{DB: x.db, Statement: stmt})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

var target1x = target{
	dialect: DialectV1, version: "1.8.", setupWrites: 13,
	open: func(t *testing.T) *testDB {
		s := testenv.Influx(t)
		x := &testDB{db: s.Database, url: s.URL, token: s.Token, c: s.Client}
		x.drift = func(t *testing.T) {
			for _, q := range []string{
				`ALTER RETENTION POLICY "30_days_hourly" ON "%s" DURATION 2d`,
				`DROP CONTINUOUS QUERY "cq_risk_metrics_1d" ON "%s"`,
				// A new default: the raw tier is no longer where writes land.
				`CREATE RETENTION POLICY "scratch" ON "%s" DURATION 1h REPLICATION 1 DEFAULT`,
			} {
				if err := s.Query(t.Context(), fmt.Sprintf(q, s.Database)); err != nil {
					t.Fatal(err)
				}
			}
		}
		x.legacy = func(t *testing.T) string {
			for _, q := range []string{
				`DROP CONTINUOUS QUERY "cq_market_quotes_1d" ON "%[1]s"`,
				`CREATE CONTINUOUS QUERY "cq_market_quotes_1d" ON "%[1]s" RESAMPLE FOR 2d BEGIN SELECT mean("bid") AS "bid", mean("ask") AS "ask" ` +
					`INTO "%[1]s"."1_year_daily"."market_quotes" FROM "%[1]s"."30_days_hourly"."market_quotes" GROUP BY time(1d), * END`,
			} {
				if err := s.Query(t.Context(), fmt.Sprintf(q, s.Database)); err != nil {
					t.Fatal(err)
				}
			}
			return "replace_continuous_query cq_market_quotes_1d"
		}
		return x
	},
	drift: func(string) []string {
		return []string{"alter_retention_policy 7_days_detailed", "alter_retention_policy 30_days_hourly", "create_continuous_query cq_risk_metrics_1d"}
	},
	replace: []string{"replace_continuous_query cq_market_quotes_1h", "replace_continuous_query cq_market_quotes_1d"},
	objects: func(t *testing.T, x *testDB) {
		rps, err := (&v1{c: x.c, log: testLogger}).read(t.Context(), x.db)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, rp := range rps.RPs {
			got[rp.Name] = fmt.Sprintf("%s %s %t", rp.Duration, rp.ShardDuration, rp.Default)
		}
		want := map[string]string{"7_days_detailed": "168h0m0s 24h0m0s true", "30_days_hourly": "720h0m0s 24h0m0s false", "1_year_daily": "8760h0m0s 168h0m0s false"}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("retention policy %s: %q, want %q", k, got[k], v)
			}
		}
		if len(rps.CQs) != 10 {
			t.Errorf("%d continuous queries, want 10", len(rps.CQs))
		}
	},
}

var target2x = target{
	dialect: DialectV2, version: "v2.", setupWrites: 16,
	open: func(t *testing.T) *testDB {
		s := testenv.Influx2(t)
		x := &testDB{db: s.Database, url: s.URL, token: s.Token, org: s.Org, c: s.Client}
		x.drift = func(t *testing.T) {
			live, err := (&v2{c: s.Client, org: s.Org, log: testLogger}).read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range live.Buckets {
				if b.Name == s.Database+"/30_days_hourly" {
					api2(t, x, http.MethodPatch, "/api/v2/buckets/"+b.ID, nil,
						map[string]any{"retentionRules": []map[string]any{{"type": "expire", "everySeconds": 2 * 86400, "shardGroupDurationSeconds": 86400}}})
				}
			}
			for _, tk := range live.Tasks {
				if tk.Name == s.Database+"/cq_risk_metrics_1d" {
					api2(t, x, http.MethodPatch, "/api/v2/tasks/"+tk.ID, nil, map[string]any{"status": "inactive"})
				}
			}
			api2(t, x, http.MethodPost, "/api/v2/buckets", nil, map[string]any{"name": s.Database + "/scratch", "orgID": live.OrgID, "retentionRules": []any{}})
		}
		x.legacy = func(t *testing.T) string {
			live, err := (&v2{c: s.Client, org: s.Org, log: testLogger}).read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			name := s.Database + "/cq_market_quotes_1d"
			flux := fmt.Sprintf("option task = {name: %q, every: 1d}\n\nfrom(bucket: %q)\n  |> range(start: -2d)\n"+
				"  |> filter(fn: (r) => r._measurement == \"market_quotes\" and (r._field == \"bid\" or r._field == \"ask\"))\n"+
				"  |> aggregateWindow(every: 1d, fn: mean, timeSrc: \"_start\", createEmpty: false)\n  |> to(bucket: %q)\n",
				name, s.Database+"/30_days_hourly", s.Database+"/1_year_daily")
			for _, tk := range live.Tasks {
				if tk.Name == name {
					api2(t, x, http.MethodPatch, "/api/v2/tasks/"+tk.ID, nil, map[string]any{"flux": flux})
				}
			}
			return "update_task " + name
		}
		return x
	},
	drift: func(db string) []string {
		return []string{"update_bucket " + db + "/30_days_hourly", "update_task " + db + "/cq_risk_metrics_1d"}
	},
	replace: []string{"update_task {db}/cq_market_quotes_1h", "update_task {db}/cq_market_quotes_1d"},
	objects: func(t *testing.T, x *testDB) {
		live, err := (&v2{c: x.c, org: x.org, log: testLogger}).read(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]string{}
		for _, b := range live.Buckets {
			ids[b.ID] = b.Name
			if b.Name == x.db+"/7_days_detailed" && (b.EverySeconds != 7*86400 || b.ShardGroupSeconds != 86400) {
				t.Errorf("raw bucket %+v", b)
			}
		}
		n := 0
		for _, m := range live.DBRPs {
			if m.Database != x.db {
				continue
			}
			n++
			// Each mapping points at the bucket the same setup created a moment before.
			if ids[m.BucketID] != x.db+"/"+m.RetentionPolicy || m.Default != (m.RetentionPolicy == "7_days_detailed") {
				t.Errorf("mapping %+v (bucket %q)", m, ids[m.BucketID])
			}
		}
		if n != 3 {
			t.Errorf("%d dbrp mappings, want 3", n)
		}
		tasks := 0
		for _, tk := range live.Tasks {
			if strings.HasPrefix(tk.Name, x.db+"/") && tk.Status == "active" {
				tasks++
			}
		}
		if tasks != 10 {
			t.Errorf("%d active tasks, want 10", tasks)
		}
	},
}

// api2 sends one 2.x API call for a test's change by hand.
func api2(t *testing.T, x *testDB, method, path string, q url.Values, body any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := x.c.Do(t.Context(), influxclient.Request{Method: method, Path: path, Query: q, Body: bytes.NewReader(b), ContentType: "application/json"})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

var testLogger = slog.New(slog.DiscardHandler)

// testDialect is the contract. Every subtest has its own database, so the
// subtests of one version run side by side on one server.
func testDialect(t *testing.T, tg target) {
	t.Run("DetectsVersion", func(t *testing.T) { t.Parallel(); testDetects(t, tg) })
	t.Run("SetupIdempotentRepairsDrift", func(t *testing.T) { t.Parallel(); testSetupDrift(t, tg) })
	t.Run("ChangedRollupIsReplaced", func(t *testing.T) { t.Parallel(); testReplace(t, tg) })
	t.Run("BackfillRollsUpOHLCV", func(t *testing.T) { t.Parallel(); testBackfillOHLCV(t, tg) })
	t.Run("FieldTypeConflict", func(t *testing.T) { t.Parallel(); testFieldTypeConflict(t, tg) })
	t.Run("ConnectionErrors", func(t *testing.T) { t.Parallel(); testConnectionErrors(t, tg) })
	t.Run("RollupsExactWithLatePoints", func(t *testing.T) { t.Parallel(); testRollupsExact(t, tg) })
	t.Run("ScheduleRollsLatePoints", func(t *testing.T) { t.Parallel(); testScheduleRollsLatePoints(t, tg) })
	t.Run("UpgradeFromMeanOfMeans", func(t *testing.T) { t.Parallel(); testUpgrade(t, tg) })
}

func testDetects(t *testing.T, tg target) {
	x := tg.open(t)
	p := x.provisioner(t, x.token, nil)
	srv, err := p.Server(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if srv.Dialect != tg.dialect || !strings.HasPrefix(srv.Version, tg.version) || srv.URL != x.url {
		t.Fatalf("server %+v, want dialect %s, version %s*", srv, tg.dialect, tg.version)
	}
	// Picked once: every later verb uses the same backend.
	be, _, _ := p.backend(t.Context())
	if _, err := p.Plan(t.Context()); err != nil {
		t.Fatal(err)
	}
	if again, _, _ := p.backend(t.Context()); again != be {
		t.Fatal("the dialect was picked again")
	}
}

func testSetupDrift(t *testing.T, tg target) {
	x := tg.open(t)
	p := x.provisioner(t, x.token, nil)
	ctx := t.Context()
	st := mustStatus(t, p)
	if st.InSync || len(st.Drift) != tg.setupWrites {
		t.Fatalf("empty server: in sync %t, %d changes, want %d", st.InSync, len(st.Drift), tg.setupWrites)
	}
	rep, err := p.Setup(ctx, SetupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Actions) != tg.setupWrites || rep.Server.Dialect != tg.dialect {
		t.Fatalf("setup applied %d actions on %+v, want %d", len(rep.Actions), rep.Server, tg.setupWrites)
	}
	st = mustStatus(t, p)
	if !st.InSync || len(st.Drift) != 0 || len(st.Extras) != 0 {
		t.Fatalf("after setup: in sync %t, drift %+v, extras %+v", st.InSync, st.Drift, st.Extras)
	}
	for _, o := range st.Objects {
		if o.State != StateOK {
			t.Errorf("object %s %s: %s %s", o.Kind, o.Name, o.State, o.Detail)
		}
	}
	tg.objects(t, x)
	// A second setup changes nothing: what is read back compares equal.
	if rep, err := p.Setup(ctx, SetupOptions{}); err != nil || len(rep.Actions) != 0 {
		t.Fatalf("second setup: %v, %+v", err, rep.Actions)
	}

	x.drift(t)
	st = mustStatus(t, p)
	var kinds []string
	for _, a := range st.Drift {
		kinds = append(kinds, a.Kind+" "+a.Object)
	}
	if want := tg.drift(x.db); st.InSync || !slices.Equal(kinds, want) {
		t.Fatalf("drift %v, want %v", kinds, want)
	}
	if len(st.Extras) == 0 || !strings.HasSuffix(st.Extras[0].Name, "scratch") {
		t.Fatalf("extras %+v, want the scratch tier", st.Extras)
	}
	if _, err := p.Setup(ctx, SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	st = mustStatus(t, p)
	if !st.InSync {
		t.Fatalf("after repair still drifting: %+v", st.Drift)
	}
	if len(st.Extras) == 0 || !strings.HasSuffix(st.Extras[0].Name, "scratch") {
		t.Fatal("setup removed the unknown tier: it must only report it")
	}
	tg.objects(t, x)
}

func testReplace(t *testing.T, tg target) {
	x := tg.open(t)
	ctx := t.Context()
	if _, err := x.provisioner(t, x.token, nil).Setup(ctx, SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	// The desired state changes one rollup: bid becomes last instead of mean.
	p2 := x.provisioner(t, x.token, func(d *Desired) { d.Measurements[0].Fields[5].Rollup = "last" })
	pl, err := p2.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, a := range pl.Actions {
		kinds = append(kinds, a.Kind+" "+a.Object)
	}
	want := slices.Clone(tg.replace)
	for i := range want {
		want[i] = strings.ReplaceAll(want[i], "{db}", x.db)
	}
	if !slices.Equal(kinds, want) {
		t.Fatalf("plan %v, want %v", kinds, want)
	}
	if _, err := p2.Setup(ctx, SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	if pl, err = p2.Plan(ctx); err != nil || len(pl.Actions) != 0 {
		t.Fatalf("plan after the change: %+v, %v", pl.Actions, err)
	}
}

func testBackfillOHLCV(t *testing.T, tg target) {
	x := tg.open(t)
	p := x.provisioner(t, x.token, nil)
	ctx := t.Context()
	if _, err := p.Setup(ctx, SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	// A fixed window inside the raw tier's 7 days: yesterday, 10:00-12:00 UTC.
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	base := day.Add(10 * time.Hour)
	var lines bytes.Buffer
	for _, pt := range []struct {
		min        int
		o, h, l, c float64
		vol        int64
	}{{0, 10, 12, 9, 11, 100}, {20, 11, 15, 10, 14, 200}, {50, 14, 14.5, 8, 9, 300}, {60, 20, 21, 19, 20.5, 50}, {90, 20.5, 30, 7, 25, 70}} {
		fmt.Fprintf(&lines, "market_quotes,symbol=AAPL,exchange=NASDAQ open=%v,high=%v,low=%v,close=%v,last=%v,bid=%v,ask=%v,volume=%di %d\n",
			pt.o, pt.h, pt.l, pt.c, pt.c, pt.c-0.1, pt.c+0.1, pt.vol, base.Add(time.Duration(pt.min)*time.Minute).UnixNano())
	}
	if err := p.Write(ctx, "7_days_detailed", lines.Bytes()); err != nil {
		t.Fatal(err)
	}
	rep, err := p.Setup(ctx, SetupOptions{BackfillFrom: day, BackfillTo: day.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Actions) != 0 || len(rep.Backfill) != 10 {
		t.Fatalf("actions %d, backfill steps %d", len(rep.Actions), len(rep.Backfill))
	}
	// Both versions count what they wrote the same way: one point per series and hour.
	if s := rep.Backfill[0]; s.Rollup != "cq_market_quotes_1h" || s.Written != 2 || s.Queries != 1 {
		t.Fatalf("first backfill step %+v, want 2 hourly points from 1 query", s)
	}
	if s := rep.Backfill[5]; s.Rollup != "cq_market_quotes_1d" || s.Written != 1 {
		t.Fatalf("daily backfill step %+v, want 1 point", s)
	}
	check := func(tier string, r map[string]any, at time.Time, o, h, l, c float64, vol int64) {
		t.Helper()
		if r["time"] != at.Format(time.RFC3339) || r["symbol"] != "AAPL" || r["exchange"] != "NASDAQ" {
			t.Errorf("%s row time/tags: %v", tier, r)
		}
		for k, want := range map[string]float64{"open": o, "high": h, "low": l, "close": c, "last": c} {
			if got, _ := r[k].(float64); got != want {
				t.Errorf("%s %s %s = %v, want %v", tier, at.Format(time.RFC3339), k, r[k], want)
			}
		}
		if r["volume"] != float64(vol) {
			t.Errorf("%s %s volume = %v, want %d", tier, at.Format(time.RFC3339), r["volume"], vol)
		}
	}
	hourly := readTier(t, x, "30_days_hourly", "market_quotes", day, day.Add(24*time.Hour))
	if len(hourly) != 2 {
		t.Fatalf("hourly rows %d, want 2: %v", len(hourly), hourly)
	}
	check("hourly", hourly[0], base, 10, 15, 8, 9, 600)
	check("hourly", hourly[1], base.Add(time.Hour), 20, 30, 7, 25, 120)
	daily := readTier(t, x, "1_year_daily", "market_quotes", day, day.Add(24*time.Hour))
	if len(daily) != 1 {
		t.Fatalf("daily rows %d, want 1: %v", len(daily), daily)
	}
	check("daily", daily[0], day, 10, 30, 7, 25, 720)

	// The contract check sees the types the writes created: all as documented.
	if sc, err := p.CheckSchema(ctx); err != nil || !sc.OK {
		t.Fatalf("schema check: %v %+v", err, sc.Findings)
	}
}

// readTier reads the points of one measurement of a tier with InfluxQL (2.x:
// through the DBRP mappings), as rows of time (RFC 3339), tags and fields,
// sorted by time and then series.
func readTier(t *testing.T, x *testDB, tier, m string, from, to time.Time) []map[string]any {
	t.Helper()
	series := x.influxQL(t, fmt.Sprintf(`SELECT * FROM %s.%s.%s WHERE time >= '%s' AND time < '%s' GROUP BY *`,
		quoteIdent(x.db), quoteIdent(tier), quoteIdent(m), from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339)))
	var rows []map[string]any
	for _, s := range series {
		for _, v := range s.Values {
			r := map[string]any{}
			for k, tv := range s.Tags {
				if tv != "" {
					r[k] = tv
				}
			}
			for i, c := range s.Columns {
				if i < len(v) && v[i] != nil {
					r[c] = v[i]
				}
			}
			rows = append(rows, r)
		}
	}
	slices.SortStableFunc(rows, func(a, b map[string]any) int { return strings.Compare(fmt.Sprint(a["time"]), fmt.Sprint(b["time"])) })
	return rows
}

func testFieldTypeConflict(t *testing.T, tg target) {
	x := tg.open(t)
	p := x.provisioner(t, x.token, nil)
	ctx := t.Context()
	if _, err := p.Setup(ctx, SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixNano()
	// volume as a float: the first write fixes the type, against the contract.
	if err := p.Write(ctx, "7_days_detailed", fmt.Appendf(nil, "market_quotes,symbol=X volume=1.5,extra=1 %d", now)); err != nil {
		t.Fatal(err)
	}
	err := p.Write(ctx, "7_days_detailed", fmt.Appendf(nil, "market_quotes,symbol=X volume=2i %d", now+1))
	if !errors.Is(err, ErrFieldTypeConflict) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v, want one line wrapping ErrFieldTypeConflict", err)
	}
	sc, err := p.CheckSchema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(sc.Findings)
	if sc.OK || len(sc.Findings) != 2 || !strings.Contains(got, "extra") || !strings.Contains(got, "volume integer float type differs") {
		t.Fatalf("findings %s", got)
	}
}

func testConnectionErrors(t *testing.T, tg target) {
	x := tg.open(t)
	wrong := "not-a-token"
	if user, _, ok := strings.Cut(x.token, ":"); ok {
		wrong = user + ":wrong-password"
	}
	_, err := x.provisioner(t, wrong, nil).Status(t.Context())
	if !errors.Is(err, ErrUnauthorized) || strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), x.token) {
		t.Fatalf("bad credentials: %v", err)
	}
	// A port nobody listens on.
	gone, err := New(Options{URL: "http://127.0.0.1:1", Token: x.token})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err = gone.Plan(ctx); !errors.Is(err, ErrUnreachable) || strings.Contains(err.Error(), x.token) {
		t.Fatalf("unreachable: %v", err)
	}
}

func mustStatus(t *testing.T, p *Provisioner) Status {
	t.Helper()
	st, err := p.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return st
}
