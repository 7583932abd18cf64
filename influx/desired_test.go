package influx

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestDefaultDesired(t *testing.T) {
	d := DefaultDesired()
	if d.Database != DefaultDatabase || d.Org != "quantx_db" || DefaultDatabase != "quantx_db" {
		t.Fatalf("database %q org %q", d.Database, d.Org)
	}
	var tiers []string
	for _, tr := range d.Tiers {
		tiers = append(tiers, tr.Name+"="+tr.Duration.ddl())
	}
	if got := strings.Join(tiers, " "); got != "7_days_detailed=7d 30_days_hourly=30d 1_year_daily=365d" {
		t.Fatalf("tiers %s", got)
	}
	// Integers for volume, sizes and counts (seed defect 47); user_id never a tag (defect 48).
	want := map[string]FieldType{"market_quotes.volume": TypeInteger, "api_metrics.request_size": TypeInteger,
		"api_metrics.response_size": TypeInteger, "system_metrics.active_connections": TypeInteger,
		"system_metrics.queue_depth": TypeInteger, "market_quotes.bid": TypeFloat, "api_metrics.user_id": TypeString}
	for _, m := range d.Measurements {
		for _, tag := range m.Tags {
			if tag == "user_id" {
				t.Errorf("%s has user_id as a tag", m.Name)
			}
		}
		for _, f := range m.Fields {
			if w, ok := want[m.Name+"."+f.Name]; ok && w != f.Type {
				t.Errorf("%s.%s is %s, want %s", m.Name, f.Name, f.Type, w)
			}
			delete(want, m.Name+"."+f.Name)
		}
	}
	if len(want) != 0 {
		t.Errorf("fields missing from the contract: %v", want)
	}
	rollups := d.rollups()
	if len(rollups) != 10 || rollups[0].Name != "cq_market_quotes_1h" || rollups[5].Name != "cq_market_quotes_1d" {
		t.Fatalf("rollups %d, first %s", len(rollups), rollups[0].Name)
	}
}

func TestParseDesiredRejects(t *testing.T) {
	base := string(defaultDesired)
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"unknown key", strings.Replace(base, "duration: 7d", "duraton: 7d", 1), "field duraton not found"},
		{"below server minimum", strings.Replace(base, "duration: 7d", "duration: 30m", 1), "duration 30m is below the server minimum of 1h"},
		{"bad duration", strings.Replace(base, "duration: 30d", "duration: 30 days", 1), `duration "30 days"`},
		{"bad type", strings.Replace(base, "type: integer, rollup: sum", "type: bigint, rollup: sum", 1), `type "bigint"`},
		{"bad rollup", strings.Replace(base, "rollup: first", "rollup: percentile", 1), `rollup "percentile"`},
		{"tolerance past the raw tier", strings.Replace(base, "late_tolerance: 2h", "late_tolerance: 7d", 1), "late_tolerance 7d is not shorter than the raw tier's retention 7d"},
		{"carrier taken", strings.Replace(base, "{name: change, type: float}", "{name: bid_sum, type: float}", 1), "bid_sum is the sum carrier of field bid"},
		{"intervals that cut each other", strings.Replace(base, "rollup_every: 1d", "rollup_every: 90m", 1), "rollup_every 90m is not a multiple of 1h"},
		{"rollup on raw", strings.Replace(base, "shard_duration: 1d\n  - name: 30_days_hourly", "shard_duration: 1d\n    rollup_every: 1h\n  - name: 30_days_hourly", 1), "raw tier"},
		{"missing rollup_every", strings.Replace(base, "    rollup_every: 1d\n", "", 1), "rollup_every is required"},
		{"empty", "", "empty"},
		{"mean of string", strings.Replace(base, "{name: user_id, type: string}", "{name: user_id, type: string, rollup: mean}", 1), "mean of a string field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDesired([]byte(tc.doc))
			if !errors.Is(err, ErrInvalidDesired) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line with %q", err, tc.want)
			}
		})
	}
}

func TestDurationFormats(t *testing.T) {
	for _, tc := range []struct {
		in        string
		str, ddl  string
		shardWant time.Duration
	}{
		{"7d", "1w", "7d", 24 * time.Hour},
		{"1h", "1h", "1h", time.Hour},
		{"365d", "365d", "365d", 7 * 24 * time.Hour},
		{"90m", "90m", "90m", time.Hour},
		{"2w", "2w", "14d", 24 * time.Hour},
		{"inf", "0s", "INF", 7 * 24 * time.Hour},
	} {
		d, err := ParseDuration(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if d.String() != tc.str || d.ddl() != tc.ddl || (Tier{Duration: d}).shardDuration() != tc.shardWant {
			t.Errorf("%s: String %s ddl %s shard %s", tc.in, d, d.ddl(), (Tier{Duration: d}).shardDuration())
		}
	}
}

func TestWindows(t *testing.T) {
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	ws := windows(at("2026-11-01T10:30:00Z"), at("2026-11-03T01:15:00Z"), time.Hour, 24*time.Hour)
	var got []string
	for _, w := range ws {
		got = append(got, w[0].Format("02T15")+"-"+w[1].Format("02T15"))
	}
	// Aligned to whole hours, at most a day each, the partial last hour included.
	if s := strings.Join(got, " "); s != "01T10-02T10 02T10-03T02" {
		t.Fatalf("windows %s", s)
	}
	if ws := windows(at("2026-11-01T00:00:00Z"), at("2026-11-01T00:00:00Z"), time.Hour, 24*time.Hour); len(ws) != 0 {
		t.Fatalf("empty range gave %v", ws)
	}
}

func TestCheckPoint(t *testing.T) {
	d := DefaultDesired()
	for _, tc := range []struct {
		m      string
		tags   map[string]string
		fields map[string]any
		ok     bool
	}{
		{"market_quotes", map[string]string{"symbol": "A"}, map[string]any{"volume": int64(3), "bid": 1.5}, true},
		{"market_quotes", nil, map[string]any{"volume": 3.0}, false},
		{"api_metrics", map[string]string{"user_id": "u1"}, map[string]any{"response_time": 1.0}, false},
		{"api_metrics", nil, map[string]any{"user_id": "u1", "request_size": 10}, true},
		{"nope", nil, map[string]any{"x": 1.0}, false},
	} {
		err := d.CheckPoint(tc.m, tc.tags, tc.fields)
		if (err == nil) != tc.ok {
			t.Errorf("%s %v %v: err %v", tc.m, tc.tags, tc.fields, err)
		}
	}
}

// TestRollupWindows: how far back each tier's scheduled rollup recomputes so that a point written
// up to late_tolerance after its timestamp reaches every tier.
func TestRollupWindows(t *testing.T) {
	for _, tc := range []struct {
		tolerance string
		every     []string // rollup_every of each rolled tier
		want      string
	}{
		{"2h", []string{"1h", "1d"}, "3h 2d"},   // the built-in state
		{"0", []string{"1h", "1d"}, "1h 2d"},    // nothing late: the hour just closed; the day once more after the last hour settles
		{"90m", []string{"1h", "1d"}, "3h 2d"},  // a point at :59 may arrive 1h29m after its hour: the run two hours on
		{"1h", []string{"1h", "1d"}, "2h 2d"},   // written before the next boundary
		{"30h", []string{"1h", "1d"}, "31h 3d"}, // the hourly tier settles 30h after an hour: the day needs a third run
		{"2m", []string{"1m", "5m"}, "3m 10m"},  // the contract's schedule test
		{"2h", []string{"1h", "1d", "7d"}, "3h 2d 2w"},
	} {
		doc := "database: x\nlate_tolerance: " + tc.tolerance + "\ntiers:\n  - {name: raw, duration: 7d}\n"
		for i, e := range tc.every {
			doc += fmt.Sprintf("  - {name: t%d, duration: 365d, rollup_every: %s}\n", i, e)
		}
		doc += "measurements:\n  - {name: m, tags: [], fields: [{name: v, type: float, rollup: mean}]}\n"
		d, err := ParseDesired([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", tc.tolerance, err)
		}
		var got []string
		for _, w := range d.windows()[1:] {
			got = append(got, w.String())
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("late_tolerance %s, tiers %v: windows %v, want %s", tc.tolerance, tc.every, got, tc.want)
		}
	}
	// resample_for widens a window, never narrows it.
	d := DefaultDesired()
	d.Tiers[1].ResampleFor = Duration(6 * time.Hour)
	if w := d.windows(); w[1] != Duration(6*time.Hour) || w[2] != Duration(2*24*time.Hour) {
		t.Errorf("resample_for 6h: %v", w)
	}
}

func TestLateToleranceDefault(t *testing.T) {
	if d := DefaultDesired(); d.LateTolerance != DefaultLateTolerance || DefaultLateTolerance != Duration(2*time.Hour) {
		t.Fatalf("built-in late_tolerance %s", d.LateTolerance)
	}
	doc := "database: x\ntiers:\n  - {name: raw, duration: 7d}\n"
	if d, err := ParseDesired([]byte(doc)); err != nil || d.LateTolerance != DefaultLateTolerance {
		t.Fatalf("a file without late_tolerance: %v %s", err, d.LateTolerance)
	}
	if d, err := ParseDesired([]byte("late_tolerance: 0\n" + doc)); err != nil || d.LateTolerance != 0 {
		t.Fatalf("late_tolerance 0: %v %s", err, d.LateTolerance)
	}
}

// TestCompositions is the schema contract's statement of exactness.
func TestCompositions(t *testing.T) {
	d := DefaultDesired()
	d.Measurements[4].Fields[2].Rollup = "median" // system_metrics.disk_usage
	got := map[string]Composition{}
	for _, c := range d.Compositions() {
		got[c.Measurement+"."+c.Field+"@"+c.Tier] = c
	}
	for key, want := range map[string]string{
		"market_quotes.bid@30_days_hourly":         `exact mean("bid") AS "bid" [bid bid_count bid_sum]`,
		"market_quotes.bid@1_year_daily":           `exact sum("bid_sum") / sum("bid_count") AS "bid" [bid bid_count bid_sum]`,
		"market_quotes.open@1_year_daily":          `exact first("open") AS "open" [open open_count]`,
		"market_quotes.volume@1_year_daily":        `exact sum("volume") AS "volume" [volume volume_count]`,
		"system_metrics.disk_usage@30_days_hourly": `exact median("disk_usage") AS "disk_usage" [disk_usage disk_usage_count]`,
		"system_metrics.disk_usage@1_year_daily":   `approximate median("disk_usage") AS "disk_usage" [disk_usage disk_usage_count]`,
	} {
		c, ok := got[key]
		state := "exact"
		if !c.Exact {
			state = "approximate"
		}
		if s := fmt.Sprintf("%s %s %v", state, c.Expression, c.Fields); !ok || s != want {
			t.Errorf("%s: %s, want %s", key, s, want)
		}
	}
	if c := got["system_metrics.disk_usage@1_year_daily"]; !strings.Contains(c.Note, "median of the 30_days_hourly medians") {
		t.Errorf("approximate median note %q", c.Note)
	}
	if n := len(DefaultDesired().Compositions()); n != 2*(8+12+8+3+5) {
		t.Errorf("%d compositions, want one per rolled field and tier", n)
	}
}
