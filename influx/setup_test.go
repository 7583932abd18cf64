package influx_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"

	"github.com/quantx/quantx-db/influx"
	"github.com/quantx/quantx-db/internal/testenv"
)

// newProvisioner returns a provisioner for the test's own database on the
// real 1.8 server: the built-in desired state with the database renamed.
func newProvisioner(t *testing.T, db *testenv.InfluxDB, edit func(*influx.Desired)) *influx.Provisioner {
	t.Helper()
	d := influx.DefaultDesired()
	d.Database = db.Database
	if edit != nil {
		edit(&d)
	}
	p, err := influx.New(influx.Options{URL: db.URL, Token: db.Token, Desired: &d})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSetupIdempotentAndRepairsDrift(t *testing.T) {
	t.Parallel()
	db := testenv.Influx(t)
	p := newProvisioner(t, db, nil)
	ctx := t.Context()

	srv, err := p.Server(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if srv.Dialect != influx.DialectV1 || !strings.HasPrefix(srv.Version, "1.8") {
		t.Fatalf("server %+v, want 1.8 with dialect 1.x", srv)
	}

	st, err := p.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.InSync || len(st.Drift) == 0 {
		t.Fatalf("empty server reported in sync: %+v", st)
	}

	rep, err := p.Setup(ctx, influx.SetupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// 1 database + 2 more tiers + 5 measurements × 2 rollup tiers.
	if got, want := len(rep.Actions), 1+2+10; got != want {
		t.Fatalf("setup applied %d actions, want %d: %+v", got, want, rep.Actions)
	}

	st, err = p.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.InSync || len(st.Drift) != 0 || len(st.Extras) != 0 {
		t.Fatalf("after setup: in_sync %t, drift %+v, extras %+v", st.InSync, st.Drift, st.Extras)
	}
	for _, o := range st.Objects {
		if o.State != influx.StateOK {
			t.Errorf("object %s %s: %s %s", o.Kind, o.Name, o.State, o.Detail)
		}
	}

	// A second setup changes nothing: the CQ bodies read back compare equal.
	rep, err = p.Setup(ctx, influx.SetupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Actions) != 0 {
		t.Fatalf("second setup applied %+v", rep.Actions)
	}

	// Server state read back with the server's own statements.
	rps := showRPs(t, db)
	want := map[string]string{"7_days_detailed": "168h0m0s 24h0m0s true", "30_days_hourly": "720h0m0s 24h0m0s false", "1_year_daily": "8760h0m0s 168h0m0s false"}
	if fmt.Sprint(rps) != fmt.Sprint(want) {
		t.Fatalf("retention policies %v, want %v", rps, want)
	}

	// Drift by hand: a retention changed, the default moved, an unknown RP added.
	mustQuery(t, db, fmt.Sprintf(`ALTER RETENTION POLICY "30_days_hourly" ON %q DURATION 2d`, db.Database))
	mustQuery(t, db, fmt.Sprintf(`CREATE RETENTION POLICY "scratch" ON %q DURATION 1h REPLICATION 1 DEFAULT`, db.Database))
	mustQuery(t, db, fmt.Sprintf(`DROP CONTINUOUS QUERY "cq_risk_metrics_1d" ON %q`, db.Database))
	st, err = p.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kinds := []string{}
	for _, a := range st.Drift {
		kinds = append(kinds, a.Kind+" "+a.Object)
	}
	wantKinds := "[alter_retention_policy 7_days_detailed alter_retention_policy 30_days_hourly create_continuous_query cq_risk_metrics_1d]"
	if st.InSync || fmt.Sprint(kinds) != wantKinds {
		t.Fatalf("drift %v, want %s", kinds, wantKinds)
	}
	if len(st.Extras) != 1 || st.Extras[0].Name != "scratch" {
		t.Fatalf("extras %+v, want the scratch retention policy", st.Extras)
	}

	if _, err := p.Setup(ctx, influx.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	rps = showRPs(t, db)
	if rps["30_days_hourly"] != want["30_days_hourly"] || rps["7_days_detailed"] != want["7_days_detailed"] {
		t.Fatalf("after repair: %v", rps)
	}
	if _, ok := rps["scratch"]; !ok {
		t.Fatal("setup dropped the unknown retention policy scratch: it must only report it")
	}
	st, err = p.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.InSync {
		t.Fatalf("after repair still drifting: %+v", st.Drift)
	}
}

func TestReplaceChangedContinuousQuery(t *testing.T) {
	t.Parallel()
	db := testenv.Influx(t)
	p := newProvisioner(t, db, nil)
	ctx := t.Context()
	if _, err := p.Setup(ctx, influx.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	// The desired state changes one rollup: the CQ is dropped and recreated.
	p2 := newProvisioner(t, db, func(d *influx.Desired) { d.Measurements[0].Fields[5].Rollup = "last" }) // bid
	pl, err := p2.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.Actions) != 2 || pl.Actions[0].Kind != "replace_continuous_query" || len(pl.Actions[0].Statements) != 2 {
		t.Fatalf("plan %+v, want the two market_quotes CQs replaced", pl.Actions)
	}
	if _, err := p2.Setup(ctx, influx.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	if pl, err = p2.Plan(ctx); err != nil || len(pl.Actions) != 0 {
		t.Fatalf("plan after replace: %+v, %v", pl.Actions, err)
	}
}

func TestBackfillRollsUpOHLCV(t *testing.T) {
	t.Parallel()
	db := testenv.Influx(t)
	p := newProvisioner(t, db, nil)
	ctx := t.Context()
	if _, err := p.Setup(ctx, influx.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	// A fixed window inside the raw tier's 7 days: yesterday, 10:00-12:00 UTC.
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	base := day.Add(10 * time.Hour)
	type q struct {
		min           int
		o, h, l, c    float64
		vol           int64
		bid, ask, lst float64
	}
	points := []q{
		{0, 10, 12, 9, 11, 100, 10.9, 11.1, 11},
		{20, 11, 15, 10, 14, 200, 13.9, 14.1, 14},
		{50, 14, 14.5, 8, 9, 300, 8.9, 9.1, 9},
		{60, 20, 21, 19, 20.5, 50, 20.4, 20.6, 20.5}, // second hour
		{90, 20.5, 30, 7, 25, 70, 24.9, 25.1, 25},
	}
	client := influxdb2.NewClient(db.URL, db.Token)
	defer client.Close()
	w := client.WriteAPIBlocking("", db.Database+"/7_days_detailed")
	for _, pt := range points {
		p := influxdb2.NewPoint("market_quotes",
			map[string]string{"symbol": "AAPL", "exchange": "NASDAQ", "instrument_type": "stock"},
			map[string]any{"open": pt.o, "high": pt.h, "low": pt.l, "close": pt.c, "last": pt.lst, "bid": pt.bid, "ask": pt.ask, "volume": pt.vol},
			base.Add(time.Duration(pt.min)*time.Minute))
		if err := w.WritePoint(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	// The metrics rollups run too; one point proves the mean keeps field names.
	if err := p.Write(ctx, "7_days_detailed", fmt.Appendf(nil, "system_metrics,service=api,host=h1,environment=test cpu_usage=0.5,active_connections=4i %d\nsystem_metrics,service=api,host=h1,environment=test cpu_usage=1.5,active_connections=6i %d\n",
		base.UnixNano(), base.Add(time.Minute).UnixNano())); err != nil {
		t.Fatal(err)
	}

	rep, err := p.Setup(ctx, influx.SetupOptions{BackfillFrom: day, BackfillTo: day.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Actions) != 0 || len(rep.Backfill) != 10 {
		t.Fatalf("actions %d, backfill steps %d", len(rep.Actions), len(rep.Backfill))
	}
	if rep.Backfill[0].Rollup != "cq_market_quotes_1h" || rep.Backfill[0].Written != 2 || rep.Backfill[0].Queries != 1 {
		t.Fatalf("first backfill step %+v, want 2 hourly points from 1 query", rep.Backfill[0])
	}

	qapi := client.QueryAPI("")
	rows := func(flux string) []map[string]any {
		t.Helper()
		res, err := qapi.Query(ctx, flux)
		if err != nil {
			t.Fatal(err)
		}
		var out []map[string]any
		for res.Next() {
			out = append(out, res.Record().Values())
		}
		if res.Err() != nil {
			t.Fatal(res.Err())
		}
		return out
	}
	pivot := func(bucket, m string) []map[string]any {
		return rows(fmt.Sprintf(`from(bucket: %q) |> range(start: %s, stop: %s) |> filter(fn: (r) => r._measurement == %q) |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value") |> group() |> sort(columns: ["_time"])`,
			db.Database+"/"+bucket, day.Format(time.RFC3339), day.Add(24*time.Hour).Format(time.RFC3339), m))
	}
	hourly := pivot("30_days_hourly", "market_quotes")
	if len(hourly) != 2 {
		t.Fatalf("hourly rows %d, want 2: %v", len(hourly), hourly)
	}
	check := func(tier string, r map[string]any, at time.Time, o, h, l, c float64, vol int64, bid float64) {
		t.Helper()
		if r["_time"].(time.Time) != at || r["symbol"] != "AAPL" || r["exchange"] != "NASDAQ" {
			t.Errorf("%s row time/tags: %v", tier, r)
		}
		for k, want := range map[string]float64{"open": o, "high": h, "low": l, "close": c, "last": c, "bid": bid} {
			if got, _ := r[k].(float64); math.Abs(got-want) > 1e-9 {
				t.Errorf("%s %s %s = %v, want %v", tier, at.Format(time.RFC3339), k, r[k], want)
			}
		}
		if r["volume"] != vol {
			t.Errorf("%s %s volume = %v (%T), want %d", tier, at.Format(time.RFC3339), r["volume"], r["volume"], vol)
		}
	}
	check("hourly", hourly[0], base, 10, 15, 8, 9, 600, (10.9+13.9+8.9)/3)
	check("hourly", hourly[1], base.Add(time.Hour), 20, 30, 7, 25, 120, (20.4+24.9)/2)
	daily := pivot("1_year_daily", "market_quotes")
	if len(daily) != 1 {
		t.Fatalf("daily rows %d, want 1: %v", len(daily), daily)
	}
	// The daily rollup reads the hourly tier: bid is the mean of the hourly means.
	check("daily", daily[0], day, 10, 30, 7, 25, 720, ((10.9+13.9+8.9)/3+(20.4+24.9)/2)/2)

	sys := pivot("1_year_daily", "system_metrics")
	if len(sys) != 1 || sys[0]["cpu_usage"] != 1.0 || sys[0]["active_connections"] != 5.0 {
		t.Fatalf("daily system_metrics %v, want cpu_usage 1 and active_connections 5", sys)
	}

	// The contract check sees the types the writes created: all as documented.
	sc, err := p.CheckSchema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !sc.OK {
		t.Fatalf("schema findings %+v", sc.Findings)
	}
}

func TestFieldTypeConflict(t *testing.T) {
	t.Parallel()
	db := testenv.Influx(t)
	p := newProvisioner(t, db, nil)
	ctx := t.Context()
	if _, err := p.Setup(ctx, influx.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixNano()
	// volume as a float: the first write fixes the type, against the contract.
	if err := p.Write(ctx, "7_days_detailed", fmt.Appendf(nil, "market_quotes,symbol=X volume=1.5,extra=1 %d", now)); err != nil {
		t.Fatal(err)
	}
	err := p.Write(ctx, "7_days_detailed", fmt.Appendf(nil, "market_quotes,symbol=X volume=2i %d", now+1))
	if !errors.Is(err, influx.ErrFieldTypeConflict) || strings.Contains(err.Error(), "\n") {
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
	if err := p.Desired().CheckPoint("market_quotes", map[string]string{"symbol": "X"}, map[string]any{"volume": 1.5}); !errors.Is(err, influx.ErrFieldTypeConflict) {
		t.Fatalf("CheckPoint volume float: %v", err)
	}
	if err := p.Desired().CheckPoint("market_quotes", map[string]string{"symbol": "X"}, map[string]any{"volume": int64(2), "bid": 1.0}); err != nil {
		t.Fatalf("CheckPoint valid point: %v", err)
	}
}

func TestConnectionErrors(t *testing.T) {
	t.Parallel()
	db := testenv.Influx(t)
	user, _, _ := strings.Cut(db.Token, ":")
	bad, err := influx.New(influx.Options{URL: db.URL, Token: user + ":wrong-password"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Status(t.Context())
	if !errors.Is(err, influx.ErrUnauthorized) || strings.Contains(err.Error(), "wrong-password") {
		t.Fatalf("bad credentials: %v", err)
	}
	// A port nobody listens on (the RPC port speaks no HTTP; port 1 is closed).
	gone, err := influx.New(influx.Options{URL: "http://127.0.0.1:1", Token: db.Token})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err = gone.Plan(ctx)
	if !errors.Is(err, influx.ErrUnreachable) || strings.Contains(err.Error(), db.Token) {
		t.Fatalf("unreachable: %v", err)
	}
}

func showRPs(t *testing.T, db *testenv.InfluxDB) map[string]string {
	t.Helper()
	p, err := influx.New(influx.Options{URL: db.URL, Token: db.Token})
	if err != nil {
		t.Fatal(err)
	}
	rps, err := influx.ShowRetentionPolicies(t.Context(), p, db.Database)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, rp := range rps {
		out[rp.Name] = fmt.Sprintf("%s %s %t", rp.Duration, rp.ShardDuration, rp.Default)
	}
	return out
}

func mustQuery(t *testing.T, db *testenv.InfluxDB, q string) {
	t.Helper()
	if err := db.Query(t.Context(), q); err != nil {
		t.Fatal(err)
	}
}
