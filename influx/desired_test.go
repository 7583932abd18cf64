package influx

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDefaultDesired(t *testing.T) {
	d := DefaultDesired()
	if d.Database != "quantx_db" || d.Org != "quantx_db" {
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
		{"bad rollup", strings.Replace(base, "rollup: first", "rollup: median", 1), `rollup "median"`},
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
