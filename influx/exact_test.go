package influx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/quantx/quantx-db/internal/influxclient"
)

// rawPoint is one point of the deterministic raw series.
type rawPoint struct {
	m      Measurement
	tags   map[string]string
	at     time.Time
	fields map[string]any // float64 or int64
}

func (p rawPoint) series() string {
	keys := make([]string, 0, len(p.tags))
	for k, v := range p.tags {
		keys = append(keys, k+"="+v)
	}
	sort.Strings(keys)
	return p.m.Name + "," + strings.Join(keys, ",")
}

func (p rawPoint) line() string {
	var b strings.Builder
	b.WriteString(p.m.Name)
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range p.tags {
			if !yield(k) {
				return
			}
		}
	}) {
		fmt.Fprintf(&b, ",%s=%s", k, p.tags[k])
	}
	sep := " "
	for _, f := range p.m.Fields {
		v, ok := p.fields[f.Name]
		if !ok {
			continue
		}
		switch x := v.(type) {
		case int64:
			fmt.Fprintf(&b, "%s%s=%di", sep, f.Name, x)
		case float64:
			fmt.Fprintf(&b, "%s%s=%s", sep, f.Name, fmt.Sprint(x))
		case string:
			fmt.Fprintf(&b, "%s%s=%q", sep, f.Name, x)
		}
		sep = ","
	}
	fmt.Fprintf(&b, " %d", p.at.UnixNano())
	return b.String()
}

// rawSeries is a deterministic series over the hours of [from, to) for every
// measurement of d, two series each: an uneven count of points per hour (0 to
// 5, some hours empty), one point exactly on most hour boundaries, values with
// many digits, and every field of the contract.
func rawSeries(d Desired, from, to time.Time, seed uint64) []rawPoint {
	rng := rand.New(rand.NewPCG(seed, 7))
	var out []rawPoint
	for _, m := range d.Measurements {
		for s := range 2 {
			tags := map[string]string{}
			for i, k := range m.Tags {
				tags[k] = fmt.Sprintf("%s%d", k[:1], (s+i)%3)
			}
			for h := from; h.Before(to); h = h.Add(time.Hour) {
				n := rng.IntN(6) // 0 to 5 points in this hour
				for i := range n {
					at := h.Add(time.Duration(rng.IntN(3600)) * time.Second)
					if i == 0 && rng.IntN(4) != 0 {
						at = h // on the hour boundary: belongs to this hour, not the one before
					}
					p := rawPoint{m: m, tags: tags, at: at, fields: map[string]any{}}
					for _, f := range m.Fields {
						if rng.IntN(10) == 0 {
							continue // a point without this field
						}
						switch f.Type {
						case TypeInteger:
							p.fields[f.Name] = int64(rng.IntN(100000))
						case TypeFloat:
							p.fields[f.Name] = math.Round(rng.Float64()*1e6*1e4) / 1e4
						case TypeString:
							p.fields[f.Name] = fmt.Sprintf("u%d", rng.IntN(50))
						}
					}
					if len(p.fields) > 0 {
						out = append(out, p)
					}
				}
			}
		}
	}
	return dedup(out)
}

// dedup keeps the last point of each series and time, as InfluxDB does.
func dedup(pts []rawPoint) []rawPoint {
	seen := map[string]int{}
	var out []rawPoint
	for _, p := range pts {
		k := p.series() + "@" + p.at.String()
		if i, ok := seen[k]; ok {
			for f, v := range p.fields {
				out[i].fields[f] = v
			}
			continue
		}
		seen[k] = len(out)
		out = append(out, p)
	}
	return out
}

// lines is pts as line protocol, shuffled: written out of time order.
func lines(pts []rawPoint, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 11))
	idx := rng.Perm(len(pts))
	var b bytes.Buffer
	for _, i := range idx {
		b.WriteString(pts[i].line())
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// expected computes, from the raw points, every value a rolled tier must hold
// for interval every: series → interval start (RFC 3339) → field → value.
// A median above the first rolled tier is what the contract says it is: the
// median of the medians of the tier below (lower).
func expected(d Desired, pts []rawPoint, every time.Duration, lower map[string]map[string]map[string]float64, lowerEvery time.Duration) map[string]map[string]map[string]float64 {
	type key struct{ series, start string }
	groups := map[key][]rawPoint{}
	measurements := map[string]Measurement{}
	for _, p := range pts {
		k := key{p.series(), p.at.Truncate(every).UTC().Format(time.RFC3339)}
		groups[k] = append(groups[k], p)
		measurements[p.series()] = p.m
	}
	out := map[string]map[string]map[string]float64{}
	for k, g := range groups {
		slices.SortFunc(g, func(a, b rawPoint) int { return a.at.Compare(b.at) })
		vals := map[string]float64{}
		for _, f := range measurements[k.series].rolledUp() {
			var xs []float64
			var sum float64
			var isum int64
			for _, p := range g {
				switch v := p.fields[f.Name].(type) {
				case float64:
					xs = append(xs, v)
					sum += v
				case int64:
					xs = append(xs, float64(v))
					isum += v
				}
			}
			if len(xs) == 0 {
				continue
			}
			if f.Type == TypeInteger {
				sum = float64(isum)
			}
			vals[f.Name+"_count"] = float64(len(xs))
			switch f.Rollup {
			case "first":
				vals[f.Name] = xs[0]
			case "last":
				vals[f.Name] = xs[len(xs)-1]
			case "min":
				vals[f.Name] = slices.Min(xs)
			case "max":
				vals[f.Name] = slices.Max(xs)
			case "sum":
				vals[f.Name] = sum
			case "mean":
				vals[f.Name] = sum / float64(len(xs))
				vals[f.Name+"_sum"] = sum
			case "median":
				if lower == nil {
					vals[f.Name] = median(xs)
					break
				}
				var ms []float64
				start, _ := time.Parse(time.RFC3339, k.start)
				for t := start; t.Before(start.Add(every)); t = t.Add(lowerEvery) {
					if v, ok := lower[k.series][t.Format(time.RFC3339)][f.Name]; ok {
						ms = append(ms, v)
					}
				}
				vals[f.Name] = median(ms)
			}
		}
		if out[k.series] == nil {
			out[k.series] = map[string]map[string]float64{}
		}
		out[k.series][k.start] = vals
	}
	return out
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// compareTier reads every row of a tier and compares every value and carrier
// with want, within float rounding. It returns the number of values compared.
func compareTier(t *testing.T, x *testDB, d Desired, tier string, from, to time.Time, want map[string]map[string]map[string]float64) int {
	t.Helper()
	n := 0
	got := map[string]map[string]map[string]float64{}
	for _, m := range d.Measurements {
		if len(m.rolledUp()) == 0 {
			continue
		}
		for _, r := range readTier(t, x, tier, m.Name, from, to) {
			tags := map[string]string{}
			for _, k := range m.Tags {
				if v, ok := r[k].(string); ok {
					tags[k] = v
				}
			}
			series := rawPoint{m: m, tags: tags}.series()
			if got[series] == nil {
				got[series] = map[string]map[string]float64{}
			}
			vals := map[string]float64{}
			for k, v := range r {
				if f, ok := v.(float64); ok {
					vals[k] = f
				}
			}
			got[series][r["time"].(string)] = vals
		}
	}
	for series, byStart := range want {
		for start, vals := range byStart {
			g, ok := got[series][start]
			if !ok {
				t.Errorf("%s %s %s: no rolled point", tier, series, start)
				continue
			}
			for f, w := range vals {
				n++
				v, ok := g[f]
				if !ok || math.Abs(v-w) > 1e-9*math.Max(1, math.Abs(w)) {
					t.Errorf("%s %s %s %s = %v (present %t), want %v", tier, series, start, f, v, ok, w)
				}
			}
			for f := range g {
				if _, ok := vals[f]; !ok {
					t.Errorf("%s %s %s: unexpected field %s = %v", tier, series, start, f, g[f])
				}
			}
		}
	}
	for series, byStart := range got {
		for start := range byStart {
			if _, ok := want[series][start]; !ok {
				t.Errorf("%s %s %s: a rolled point without raw points", tier, series, start)
			}
		}
	}
	return n
}

// testRollupsExact is the acceptance test: a deterministic raw series
// with uneven counts per hour, points on hour boundaries, written out of
// order, then late points after the rollups ran. Every hourly and daily value
// of every field, carriers included, equals what the raw points give, within
// float rounding, on both versions. The late points are stale until the
// re-roll and not after.
func testRollupsExact(t *testing.T, tg target) {
	x := tg.open(t)
	edit := func(d *Desired) { d.Measurements[4].Fields[2].Rollup = "median" } // system_metrics.disk_usage: not composable
	p := x.provisioner(t, x.token, edit)
	d := p.Desired()
	ctx := t.Context()
	if _, err := p.Setup(ctx, SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	// Two whole days that every tier has settled at any time of today (the daily window is 2 days).
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -4)
	end := day.AddDate(0, 0, 2)
	pts := rawSeries(d, day, end, 1)
	if err := p.Write(ctx, "7_days_detailed", lines(pts, 2)); err != nil {
		t.Fatal(err)
	}
	rep, err := p.Backfill(ctx, BackfillOptions{From: day, To: end})
	if err != nil {
		t.Fatal(err)
	}
	// The points written are counted alike on both versions: one per series and interval.
	hourly := expected(d, pts, time.Hour, nil, 0)
	wantPoints := map[string]int64{}
	for series, byStart := range hourly {
		wantPoints["cq_"+strings.SplitN(series, ",", 2)[0]+"_1h"] += int64(len(byStart))
	}
	for _, s := range rep.Steps {
		if w, ok := wantPoints[s.Rollup]; ok && s.Written != w {
			t.Errorf("backfill %s wrote %d points, want %d", s.Rollup, s.Written, w)
		}
	}
	st, err := p.Stale(ctx, StaleOptions{Since: 5 * 24 * time.Hour})
	if err != nil || len(st.Stale) != 0 || st.Checked == 0 {
		t.Fatalf("stale after the backfill: %v %+v", err, st)
	}

	// Late points, long after the tolerance: one in an hour that had points, one in an hour that had none.
	late := rawSeries(d, day.Add(5*time.Hour), day.Add(7*time.Hour), 3)[:2]
	late[0].at = day.Add(5*time.Hour + 30*time.Minute + 7*time.Second)
	late[1].at = day.AddDate(0, 0, 1).Add(23*time.Hour + 59*time.Minute)
	if err := p.Write(ctx, "7_days_detailed", lines(late, 4)); err != nil {
		t.Fatal(err)
	}
	pts = dedup(append(pts, late...))
	st, err = p.Stale(ctx, StaleOptions{Since: 5 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	stale := map[string]bool{}
	for _, w := range st.Stale {
		stale[w.Tier+" "+w.Start.Format(time.RFC3339)] = true
	}
	for _, want := range []string{
		"30_days_hourly " + late[0].at.Truncate(time.Hour).Format(time.RFC3339),
		"30_days_hourly " + late[1].at.Truncate(time.Hour).Format(time.RFC3339),
		"1_year_daily " + day.Format(time.RFC3339),
		"1_year_daily " + day.AddDate(0, 0, 1).Format(time.RFC3339),
	} {
		if !stale[want] {
			t.Errorf("stale windows %v: %s missing", st.Stale, want)
		}
	}
	// The re-roll a cron job runs.
	if _, err := p.Backfill(ctx, BackfillOptions{From: day, To: end}); err != nil {
		t.Fatal(err)
	}
	if st, err := p.Stale(ctx, StaleOptions{Since: 5 * 24 * time.Hour}); err != nil || len(st.Stale) != 0 {
		t.Fatalf("stale after the re-roll: %v %+v", err, st.Stale)
	}

	hourly = expected(d, pts, time.Hour, nil, 0)
	daily := expected(d, pts, 24*time.Hour, hourly, time.Hour)
	n := compareTier(t, x, d, "30_days_hourly", day, end, hourly)
	n += compareTier(t, x, d, "1_year_daily", day, end, daily)
	t.Logf("%d raw points; %d hourly and daily values compared", len(pts), n)

	// The means are exact although the hours hold uneven counts: the daily mean
	// is not the mean of the hourly means, which the old rollup stored.
	differs := 0
	for series, byStart := range daily {
		for start, vals := range byStart {
			s, _ := time.Parse(time.RFC3339, start)
			var means []float64
			for h := s; h.Before(s.Add(24 * time.Hour)); h = h.Add(time.Hour) {
				if v, ok := hourly[series][h.Format(time.RFC3339)]["cpu_usage"]; ok {
					means = append(means, v)
				}
			}
			if v, ok := vals["cpu_usage"]; ok && len(means) > 0 && math.Abs(v-mean(means)) > 1e-6 {
				differs++
			}
		}
	}
	if differs == 0 {
		t.Error("the data never tells an exact daily mean from a mean of hourly means")
	}
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// testScheduleRollsLatePoints waits for one scheduled run of real rollups
// (1.x continuous queries, 2.x tasks): a desired state on a minute scale, as
// neither 1.x nor the 2.x scheduler lets a test pin the clock of a scheduled
// run, with a late tolerance of 2 minutes. A point written 100 s after its
// timestamp (inside the tolerance, in an interval already closed) is rolled
// up by the schedule and never reported stale; one written 6 minutes late is
// not, is reported stale, and the re-roll (Backfill over the last hour)
// brings it in.
func testScheduleRollsLatePoints(t *testing.T, tg target) {
	x := tg.open(t)
	p := x.provisioner(t, x.token, func(d *Desired) {
		d.LateTolerance = Duration(2 * time.Minute)
		d.Tiers = []Tier{
			{Name: "raw", Duration: Duration(24 * time.Hour)},
			{Name: "minutely", Duration: Duration(24 * time.Hour), RollupEvery: Duration(time.Minute)},
			{Name: "five_minutes", Duration: Duration(24 * time.Hour), RollupEvery: Duration(5 * time.Minute)},
		}
		d.Measurements = d.Measurements[4:5] // system_metrics
	})
	d := p.Desired()
	if w := d.windows(); w[1] != Duration(3*time.Minute) || w[2] != Duration(10*time.Minute) {
		t.Fatalf("windows %v", w)
	}
	ctx := t.Context()
	if _, err := p.Setup(ctx, SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	m := d.Measurements[0]
	point := func(at time.Time, v float64) rawPoint {
		return rawPoint{m: m, tags: map[string]string{"service": "api", "host": "h1", "environment": "test"}, at: at,
			fields: map[string]any{"cpu_usage": v, "active_connections": int64(v)}}
	}
	inTolerance := point(now.Add(-100*time.Second), 40)
	tooLate := point(now.Add(-6*time.Minute), 60)
	if err := p.Write(ctx, "raw", lines([]rawPoint{inTolerance, tooLate}, 5)); err != nil {
		t.Fatal(err)
	}
	// Wait for the next scheduled run (at the next whole minute, on both versions).
	cpuCount := func(at time.Time) float64 {
		t.Helper()
		w := at.Truncate(time.Minute)
		for _, r := range readTier(t, x, "minutely", m.Name, w, w.Add(time.Minute)) {
			if c, ok := r["cpu_usage_count"].(float64); ok {
				return c
			}
		}
		return 0
	}
	deadline := time.Now().Add(150 * time.Second)
	for cpuCount(inTolerance.at) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("no scheduled run rolled up the point written 100 s late (interval %s)", inTolerance.at.Truncate(time.Minute).Format(time.RFC3339))
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(2 * time.Second):
		}
	}
	if c := cpuCount(tooLate.at); c != 0 {
		t.Fatalf("the point written 6 minutes late was rolled up by the schedule (count %v): its window is 3 minutes", c)
	}
	st, err := p.Stale(ctx, StaleOptions{Since: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Stale) != 1 || st.Stale[0].Tier != "minutely" || !st.Stale[0].Start.Equal(tooLate.at.Truncate(time.Minute)) {
		t.Fatalf("stale %+v, want the minute of the point written 6 minutes late, and only it", st.Stale)
	}
	if _, err := p.Backfill(ctx, BackfillOptions{From: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if c := cpuCount(tooLate.at); c != 1 {
		t.Fatalf("after the re-roll the late point's count is %v", c)
	}
	if st, err := p.Stale(ctx, StaleOptions{Since: time.Hour}); err != nil || len(st.Stale) != 0 {
		t.Fatalf("stale after the re-roll: %v %+v", err, st.Stale)
	}
}

// TestTaskRunPinnedV2 runs the built-in (hourly and daily) tasks of 2.x at
// pinned times: a task run started through the API with scheduledFor runs
// with now() = scheduledFor, exactly as the scheduler would have run it then.
// A point written 2h50m after its hour began (1h51m after its own timestamp,
// inside the 2h tolerance) is in the run three hours on; a point written
// 3h25m after its timestamp is beyond it, missed by every scheduled run,
// reported stale, and brought in by the re-roll.
func TestTaskRunPinnedV2(t *testing.T) {
	t.Parallel()
	x := target2x.open(t)
	p := x.provisioner(t, x.token, nil)
	ctx := t.Context()
	if _, err := p.Setup(ctx, SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	live, err := (&v2{c: x.c, org: x.org, log: testLogger}).read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	taskID := map[string]string{}
	for _, tk := range live.Tasks {
		taskID[strings.TrimPrefix(tk.Name, x.db+"/")] = tk.ID
	}
	run := func(task string, at time.Time) {
		t.Helper()
		var out struct{ ID, Status string }
		postJSON(t, x, "/api/v2/tasks/"+taskID[task]+"/runs", map[string]any{"scheduledFor": at.Format(time.RFC3339)}, &out)
		deadline := time.Now().Add(60 * time.Second)
		for out.Status != "success" {
			if out.Status == "failed" || out.Status == "canceled" || time.Now().After(deadline) {
				t.Fatalf("run of %s for %s: %s", task, at.Format(time.RFC3339), out.Status)
			}
			time.Sleep(200 * time.Millisecond)
			getJSON(t, x, "/api/v2/tasks/"+taskID[task]+"/runs/"+out.ID, &out)
		}
	}
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3)
	h := day.Add(10 * time.Hour)
	m := p.Desired().Measurements[0] // market_quotes
	point := func(at time.Time, v float64) rawPoint {
		return rawPoint{m: m, tags: map[string]string{"symbol": "AAPL"}, at: at, fields: map[string]any{"bid": v, "volume": int64(v)}}
	}
	count := func(tier string, at time.Time, every time.Duration) float64 {
		t.Helper()
		for _, r := range readTier(t, x, tier, m.Name, at, at.Add(every)) {
			c, _ := r["bid_count"].(float64)
			return c
		}
		return 0
	}
	write := func(pts ...rawPoint) {
		t.Helper()
		if err := p.Write(ctx, "7_days_detailed", lines(pts, 6)); err != nil {
			t.Fatal(err)
		}
	}
	write(point(h.Add(10*time.Minute), 10))
	run("cq_market_quotes_1h", h.Add(time.Hour)) // on time
	write(point(h.Add(59*time.Minute), 20))      // "written at h+2h50m": within the tolerance
	run("cq_market_quotes_1h", h.Add(3*time.Hour))
	if c := count("30_days_hourly", h, time.Hour); c != 2 {
		t.Fatalf("after the run at h+3h the hour holds %v points, want 2", c)
	}
	write(point(h.Add(5*time.Minute), 30)) // "written at h+3h30m": beyond it
	run("cq_market_quotes_1h", h.Add(4*time.Hour))
	run("cq_market_quotes_1d", day.AddDate(0, 0, 1))
	run("cq_market_quotes_1d", day.AddDate(0, 0, 2))
	if c, d := count("30_days_hourly", h, time.Hour), count("1_year_daily", day, 24*time.Hour); c != 2 || d != 2 {
		t.Fatalf("after every scheduled run the hour holds %v points and the day %v, want 2 and 2", c, d)
	}
	st, err := p.Stale(ctx, StaleOptions{Since: 4 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range st.Stale {
		got = append(got, w.Tier+" "+w.Start.Format(time.RFC3339))
	}
	if want := []string{"1_year_daily " + day.Format(time.RFC3339), "30_days_hourly " + h.Format(time.RFC3339)}; !slices.Equal(got, want) {
		t.Fatalf("stale %v, want %v", got, want)
	}
	if _, err := p.Backfill(ctx, BackfillOptions{From: day, To: day.AddDate(0, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	if c, d := count("30_days_hourly", h, time.Hour), count("1_year_daily", day, 24*time.Hour); c != 3 || d != 3 {
		t.Fatalf("after the re-roll the hour holds %v points and the day %v, want 3 and 3", c, d)
	}
}

func postJSON(t *testing.T, x *testDB, path string, body, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := x.c.Do(t.Context(), influxclient.Request{Method: http.MethodPost, Path: path, Body: bytes.NewReader(b), ContentType: "application/json"})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

func getJSON(t *testing.T, x *testDB, path string, out any) {
	t.Helper()
	resp, err := x.c.Do(t.Context(), influxclient.Request{Method: http.MethodGet, Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// testUpgrade is a deployment made by an older quantx-db: rollups that store
// the mean of the hourly means and no carriers, and rolled tiers holding
// their points. Status reports the old rollup as drift and its intervals as
// stale (no counts); setup replaces the rollup; a backfill over the raw tier's
// window rewrites the old rollups, and every value is then exact. Field names
// and meanings do not change: "bid" is the mean bid before and after.
func testUpgrade(t *testing.T, tg target) {
	x := tg.open(t)
	p := x.provisioner(t, x.token, nil)
	d := p.Desired()
	ctx := t.Context()
	if _, err := p.Setup(ctx, SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -4)
	pts := rawSeries(d, day, day.AddDate(0, 0, 1), 9)
	if err := p.Write(ctx, "7_days_detailed", lines(pts, 10)); err != nil {
		t.Fatal(err)
	}
	// What the old rollups wrote: the value of each rolled-up field, a daily mean of hourly means.
	hourly := expected(d, pts, time.Hour, nil, 0)
	var old bytes.Buffer
	byDay := map[string]map[string][]float64{}     // series → field → hourly means
	value := func(m, f string, v float64) string { // what the old rollup wrote: an integer stays one but for a mean
		for _, mm := range d.Measurements {
			for _, ff := range mm.Fields {
				if mm.Name == m && ff.Name == f && ff.Type == TypeInteger && ff.Rollup != "mean" {
					return fmt.Sprintf("%s=%di", f, int64(v))
				}
			}
		}
		return fmt.Sprintf("%s=%v", f, v)
	}
	for series, byStart := range hourly {
		m, tags, _ := strings.Cut(series, ",")
		for start, vals := range byStart {
			at, _ := time.Parse(time.RFC3339, start)
			var fields []string
			for f, v := range vals {
				if strings.HasSuffix(f, "_count") || strings.HasSuffix(f, "_sum") {
					continue
				}
				fields = append(fields, value(m, f, v))
				if byDay[series] == nil {
					byDay[series] = map[string][]float64{}
				}
				byDay[series][f] = append(byDay[series][f], v)
			}
			fmt.Fprintf(&old, "%s,%s %s %d\n", m, tags, strings.Join(fields, ","), at.UnixNano())
		}
	}
	if err := p.Write(ctx, "30_days_hourly", old.Bytes()); err != nil {
		t.Fatal(err)
	}
	old.Reset()
	for series, fields := range byDay {
		m, tags, _ := strings.Cut(series, ",")
		var fs []string
		for f, vs := range fields {
			fs = append(fs, value(m, f, mean(vs))) // the old daily rollup of a mean; other fields' values matter less here
		}
		fmt.Fprintf(&old, "%s,%s %s %d\n", m, tags, strings.Join(fs, ","), day.UnixNano())
	}
	if err := p.Write(ctx, "1_year_daily", old.Bytes()); err != nil {
		t.Fatal(err)
	}
	want := x.legacy(t)

	st := mustStatus(t, p)
	if len(st.Drift) != 1 || st.Drift[0].Kind+" "+st.Drift[0].Object != want {
		t.Fatalf("drift %+v, want %s", st.Drift, want)
	}
	stale, err := p.Stale(ctx, StaleOptions{Since: 5 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	tiers := map[string]int{}
	for _, w := range stale.Stale {
		if w.Rolled != 0 {
			t.Errorf("old rollup of %s %s %s has counts: %+v", w.Tier, w.Measurement, w.Start, w)
		}
		tiers[w.Tier]++
	}
	if tiers["30_days_hourly"] < 24 || tiers["1_year_daily"] != 5 {
		t.Fatalf("old rollups without counts: stale intervals by tier %v, want every hour with points and the day of the 5 measurements", tiers)
	}
	if _, err := p.Backfill(ctx, BackfillOptions{From: day, To: day.AddDate(0, 0, 1)}); !errors.Is(err, ErrNotInSync) {
		t.Fatalf("backfill before setup: %v, want ErrNotInSync", err)
	}
	if _, err := p.Setup(ctx, SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Backfill(ctx, BackfillOptions{From: day, To: day.AddDate(0, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	if stale, err := p.Stale(ctx, StaleOptions{Since: 5 * 24 * time.Hour}); err != nil || len(stale.Stale) != 0 {
		t.Fatalf("stale after setup and backfill: %v %+v", err, stale.Stale)
	}
	n := compareTier(t, x, d, "30_days_hourly", day, day.AddDate(0, 0, 1), hourly)
	n += compareTier(t, x, d, "1_year_daily", day, day.AddDate(0, 0, 1), expected(d, pts, 24*time.Hour, hourly, time.Hour))
	t.Logf("%d values exact after the upgrade", n)
}
