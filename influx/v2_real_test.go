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
	"github.com/influxdata/influxdb-client-go/v2/api"
	"github.com/influxdata/influxdb-client-go/v2/domain"

	"github.com/quantx/quantx-db/influx"
	"github.com/quantx/quantx-db/internal/testenv"
)

// influx2 is an InfluxDB 2.x test server and a database name owned by one test.
type influx2 struct {
	URL, Token, Org, Database string
	client                    influxdb2.Client
}

// newInflux2 returns the 2.x test server (testenv.Influx2: a failure under
// CI=true when it is missing) with a client, and removes what the test made.
func newInflux2(t *testing.T) *influx2 {
	t.Helper()
	e := testenv.Influx2(t)
	s := &influx2{URL: e.URL, Token: e.Token, Org: e.Org, Database: e.Database}
	s.client = influxdb2.NewClient(s.URL, s.Token)
	t.Cleanup(func() {
		defer s.client.Close()
		if t.Failed() {
			t.Logf("kept the 2.x buckets and tasks %s/* of the failed test on %s", s.Database, s.URL)
			return
		}
		s.drop(t)
	})
	return s
}

// drop deletes the test's tasks, mappings and buckets (test cleanup only:
// the provisioner itself never deletes anything).
func (s *influx2) drop(t *testing.T) {
	ctx := context.Background() // t.Context() is already done in cleanups
	org, err := s.client.OrganizationsAPI().FindOrganizationByName(ctx, s.Org)
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	tasks, _ := s.client.TasksAPI().FindTasks(ctx, &api.TaskFilter{OrgID: *org.Id, Limit: 500})
	for _, tk := range tasks {
		if strings.HasPrefix(tk.Name, s.Database+"/") {
			if err := s.client.TasksAPI().DeleteTaskWithID(ctx, tk.Id); err != nil {
				t.Errorf("cleanup task %s: %v", tk.Name, err)
			}
		}
	}
	if m, err := s.client.APIClient().GetDBRPs(ctx, &domain.GetDBRPsParams{OrgID: org.Id, Db: &s.Database}); err == nil && m.Content != nil {
		for _, d := range *m.Content {
			s.client.APIClient().DeleteDBRPID(ctx, &domain.DeleteDBRPIDAllParams{DbrpID: d.Id, DeleteDBRPIDParams: domain.DeleteDBRPIDParams{OrgID: org.Id}})
		}
	}
	buckets, _ := s.client.BucketsAPI().FindBucketsByOrgID(ctx, *org.Id, api.PagingWithLimit(100))
	if buckets != nil {
		for _, b := range *buckets {
			if strings.HasPrefix(b.Name, s.Database+"/") {
				if err := s.client.BucketsAPI().DeleteBucketWithID(ctx, *b.Id); err != nil {
					t.Errorf("cleanup bucket %s: %v", b.Name, err)
				}
			}
		}
	}
}

func (s *influx2) provisioner(t *testing.T, token string) *influx.Provisioner {
	t.Helper()
	d := influx.DefaultDesired()
	d.Database = s.Database
	p, err := influx.New(influx.Options{URL: s.URL, Token: token, Org: s.Org, Desired: &d})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSetupV2Real(t *testing.T) {
	t.Parallel()
	s := newInflux2(t)
	p := s.provisioner(t, s.Token)
	ctx := t.Context()

	rep, err := p.Setup(ctx, influx.SetupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Server.Dialect != influx.DialectV2 || len(rep.Actions) != 16 {
		t.Fatalf("server %+v, %d actions, want 16", rep.Server, len(rep.Actions))
	}
	if rep, err = p.Setup(ctx, influx.SetupOptions{}); err != nil || len(rep.Actions) != 0 {
		t.Fatalf("second setup: %v, %+v", err, rep.Actions)
	}

	// Read back with the server's own API: retention rules and mappings.
	raw, err := s.client.BucketsAPI().FindBucketByName(ctx, s.Database+"/7_days_detailed")
	if err != nil || raw.RetentionRules[0].EverySeconds != 7*86400 {
		t.Fatalf("raw bucket: %v %+v", err, raw)
	}
	maps, err := s.client.APIClient().GetDBRPs(ctx, &domain.GetDBRPsParams{OrgID: raw.OrgID, Db: &s.Database})
	if err != nil || maps.Content == nil || len(*maps.Content) != 3 {
		t.Fatalf("mappings: %v %+v", err, maps)
	}
	for _, m := range *maps.Content {
		if m.Default != (m.RetentionPolicy == "7_days_detailed") {
			t.Errorf("mapping %s default %t", m.RetentionPolicy, m.Default)
		}
	}

	// Drift by hand: retention cut, a task disabled, an unknown bucket added.
	raw.RetentionRules[0].EverySeconds = 2 * 86400
	if _, err := s.client.BucketsAPI().UpdateBucket(ctx, raw); err != nil {
		t.Fatal(err)
	}
	tasks, err := s.client.TasksAPI().FindTasks(ctx, &api.TaskFilter{Name: s.Database + "/cq_risk_metrics_1d", OrgID: *raw.OrgID})
	if err != nil || len(tasks) != 1 {
		t.Fatalf("task: %v %d", err, len(tasks))
	}
	inactive := domain.TaskStatusTypeInactive
	tasks[0].Status = &inactive
	if _, err := s.client.TasksAPI().UpdateTask(ctx, &tasks[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.client.BucketsAPI().CreateBucketWithNameWithID(ctx, *raw.OrgID, s.Database+"/scratch"); err != nil {
		t.Fatal(err)
	}
	st, err := p.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, a := range st.Drift {
		kinds = append(kinds, a.Kind+" "+a.Object)
	}
	want := fmt.Sprintf("[update_bucket %[1]s/7_days_detailed update_task %[1]s/cq_risk_metrics_1d]", s.Database)
	if st.InSync || fmt.Sprint(kinds) != want || len(st.Extras) != 1 || st.Extras[0].Name != s.Database+"/scratch" {
		t.Fatalf("drift %v (want %s), extras %+v", kinds, want, st.Extras)
	}
	if _, err := p.Setup(ctx, influx.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	if st, err = p.Status(ctx); err != nil || !st.InSync {
		t.Fatalf("after repair: %v %+v", err, st.Drift)
	}
	if _, err := s.client.BucketsAPI().FindBucketByName(ctx, s.Database+"/scratch"); err != nil {
		t.Fatalf("setup removed the unknown bucket: %v", err)
	}

	bad := s.provisioner(t, "not-a-token")
	if _, err := bad.Status(ctx); !errors.Is(err, influx.ErrUnauthorized) {
		t.Fatalf("bad token: %v", err)
	}
}

func TestBackfillV2Real(t *testing.T) {
	t.Parallel()
	s := newInflux2(t)
	p := s.provisioner(t, s.Token)
	ctx := t.Context()
	if _, err := p.Setup(ctx, influx.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	base := day.Add(10 * time.Hour)
	w := s.client.WriteAPIBlocking(s.Org, s.Database+"/7_days_detailed")
	for _, pt := range []struct {
		min        int
		o, h, l, c float64
		vol        int64
	}{{0, 10, 12, 9, 11, 100}, {20, 11, 15, 10, 14, 200}, {50, 14, 14.5, 8, 9, 300}, {60, 20, 21, 19, 20.5, 50}, {90, 20.5, 30, 7, 25, 70}} {
		err := w.WritePoint(ctx, influxdb2.NewPoint("market_quotes", map[string]string{"symbol": "AAPL", "exchange": "NASDAQ"},
			map[string]any{"open": pt.o, "high": pt.h, "low": pt.l, "close": pt.c, "last": pt.c, "bid": pt.c - 0.1, "ask": pt.c + 0.1, "volume": pt.vol},
			base.Add(time.Duration(pt.min)*time.Minute)))
		if err != nil {
			t.Fatal(err)
		}
	}
	rep, err := p.Setup(ctx, influx.SetupOptions{BackfillFrom: day, BackfillTo: day.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Backfill) != 10 {
		t.Fatalf("backfill steps %d", len(rep.Backfill))
	}
	pivot := func(bucket string) []map[string]any {
		t.Helper()
		res, err := s.client.QueryAPI(s.Org).Query(ctx, fmt.Sprintf(`from(bucket: %q) |> range(start: %s, stop: %s)
			|> filter(fn: (r) => r._measurement == "market_quotes")
			|> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value") |> group() |> sort(columns: ["_time"])`,
			s.Database+"/"+bucket, day.Format(time.RFC3339), day.Add(24*time.Hour).Format(time.RFC3339)))
		if err != nil {
			t.Fatal(err)
		}
		var rows []map[string]any
		for res.Next() {
			rows = append(rows, res.Record().Values())
		}
		if res.Err() != nil {
			t.Fatal(res.Err())
		}
		return rows
	}
	check := func(tier string, r map[string]any, at time.Time, o, h, l, c float64, vol int64) {
		t.Helper()
		if r["_time"].(time.Time) != at || r["symbol"] != "AAPL" {
			t.Errorf("%s: time/tags %v", tier, r)
		}
		for k, want := range map[string]float64{"open": o, "high": h, "low": l, "close": c, "last": c} {
			if got, _ := r[k].(float64); math.Abs(got-want) > 1e-9 {
				t.Errorf("%s %s %s = %v, want %v", tier, at.Format(time.RFC3339), k, r[k], want)
			}
		}
		if r["volume"] != vol {
			t.Errorf("%s %s volume = %v (%T), want %d", tier, at.Format(time.RFC3339), r["volume"], r["volume"], vol)
		}
	}
	hourly := pivot("30_days_hourly")
	if len(hourly) != 2 {
		t.Fatalf("hourly rows %d: %v", len(hourly), hourly)
	}
	check("hourly", hourly[0], base, 10, 15, 8, 9, 600)
	check("hourly", hourly[1], base.Add(time.Hour), 20, 30, 7, 25, 120)
	daily := pivot("1_year_daily")
	if len(daily) != 1 {
		t.Fatalf("daily rows %d: %v", len(daily), daily)
	}
	check("daily", daily[0], day, 10, 30, 7, 25, 720)

	// The contract check reads SHOW FIELD KEYS through the DBRP mapping (2.x's /query).
	sc, err := p.CheckSchema(ctx)
	if err != nil || !sc.OK {
		t.Fatalf("schema check: %v %+v", err, sc.Findings)
	}
	err = p.Write(ctx, "7_days_detailed", fmt.Appendf(nil, "market_quotes,symbol=AAPL volume=1.5 %d", base.UnixNano()))
	if !errors.Is(err, influx.ErrFieldTypeConflict) {
		t.Fatalf("float volume on 2.x: %v", err)
	}
}
