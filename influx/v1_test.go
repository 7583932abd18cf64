package influx

import (
	"strings"
	"testing"
	"time"
)

const day = 24 * time.Hour

// synced is the live state a 1.x server has right after setup of d.
func synced(d Desired) liveV1 {
	live := liveV1{DatabaseExists: true}
	for i, t := range d.Tiers {
		live.RPs = append(live.RPs, liveRP{Name: t.Name, Duration: time.Duration(t.Duration), ShardDuration: t.shardDuration(), Replication: 1, Default: i == 0})
	}
	for _, r := range d.rollups() {
		// As SHOW CONTINUOUS QUERIES prints it: quotes only where needed.
		q := strings.ReplaceAll(r.createCQ(d.Database), `"`, "")
		q = strings.ReplaceAll(q, "."+r.From.Name+".", `."`+r.From.Name+`".`)
		q = strings.ReplaceAll(q, "."+r.To.Name+".", `."`+r.To.Name+`".`)
		live.CQs = append(live.CQs, liveCQ{Name: r.Name, Query: q})
	}
	return live
}

func TestPlanV1(t *testing.T) {
	d := DefaultDesired()
	for _, tc := range []struct {
		name   string
		live   func() liveV1
		want   []string // kind object, in order
		extras []string
	}{
		{"in sync", func() liveV1 { return synced(d) }, nil, nil},
		{"created by hand with autogen", func() liveV1 {
			return liveV1{DatabaseExists: true, RPs: []liveRP{{Name: "autogen", Default: true, ShardDuration: 7 * day}}}
		}, append([]string{"create_retention_policy 7_days_detailed", "create_retention_policy 30_days_hourly",
			"create_retention_policy 1_year_daily"}, cqKinds(d, "create_continuous_query")...), []string{"retention_policy autogen"}},
		{"retention and default changed by hand", func() liveV1 {
			l := synced(d)
			l.RPs[0].Default = false
			l.RPs[1].Duration = 2 * day
			l.RPs[2].ShardDuration = day
			l.RPs = append(l.RPs, liveRP{Name: "scratch", Duration: time.Hour, ShardDuration: time.Hour, Default: true})
			return l
		}, []string{"alter_retention_policy 7_days_detailed", "alter_retention_policy 30_days_hourly", "alter_retention_policy 1_year_daily"},
			[]string{"retention_policy scratch"}},
		{"cq body changed, unknown cq", func() liveV1 {
			l := synced(d)
			l.CQs[0].Query = strings.Replace(l.CQs[0].Query, "sum(volume)", "mean(volume)", 1)
			l.CQs = append(l.CQs, liveCQ{Name: "cq_mine", Query: "CREATE CONTINUOUS QUERY cq_mine ON quantx_db BEGIN SELECT 1 END"})
			return l
		}, []string{"replace_continuous_query cq_market_quotes_1h"}, []string{"continuous_query cq_mine"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pl := planV1(d, tc.live())
			var got, extras []string
			for _, a := range pl.Actions {
				got = append(got, a.Kind+" "+a.Object)
				for _, s := range a.Statements {
					// Never lose data: no DROP but of a CQ (which holds none).
					if strings.HasPrefix(s, "DROP") && !strings.HasPrefix(s, "DROP CONTINUOUS QUERY") {
						t.Errorf("plan drops data: %s", s)
					}
				}
			}
			for _, e := range pl.Extras {
				extras = append(extras, e.Kind+" "+e.Name)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("actions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if strings.Join(extras, ",") != strings.Join(tc.extras, ",") {
				t.Fatalf("extras %v, want %v", extras, tc.extras)
			}
		})
	}
}

func TestPlanV1Statements(t *testing.T) {
	d := DefaultDesired()
	pl := planV1(d, liveV1{})
	if len(pl.Actions) != 13 {
		t.Fatalf("%d actions on an empty server", len(pl.Actions))
	}
	for i, want := range map[int]string{
		0: `CREATE DATABASE "quantx_db" WITH DURATION 7d REPLICATION 1 SHARD DURATION 1d NAME "7_days_detailed"`,
		2: `CREATE RETENTION POLICY "1_year_daily" ON "quantx_db" DURATION 365d REPLICATION 1 SHARD DURATION 7d`,
		// From raw points: each aggregate, the count behind it, and the sum behind a mean.
		3: `CREATE CONTINUOUS QUERY "cq_market_quotes_1h" ON "quantx_db" RESAMPLE FOR 3h BEGIN SELECT ` +
			`first("open") AS "open", count("open") AS "open_count", max("high") AS "high", count("high") AS "high_count", ` +
			`min("low") AS "low", count("low") AS "low_count", last("close") AS "close", count("close") AS "close_count", ` +
			`last("last") AS "last", count("last") AS "last_count", ` +
			`mean("bid") AS "bid", count("bid") AS "bid_count", sum("bid") AS "bid_sum", ` +
			`mean("ask") AS "ask", count("ask") AS "ask_count", sum("ask") AS "ask_sum", ` +
			`sum("volume") AS "volume", count("volume") AS "volume_count" INTO "quantx_db"."30_days_hourly"."market_quotes" ` +
			`FROM "quantx_db"."7_days_detailed"."market_quotes" GROUP BY time(1h), * END`,
		// From the hourly tier: the same aggregates of the values, the carriers summed, a mean as their quotient.
		8: `CREATE CONTINUOUS QUERY "cq_market_quotes_1d" ON "quantx_db" RESAMPLE FOR 2d BEGIN SELECT ` +
			`first("open") AS "open", sum("open_count") AS "open_count", max("high") AS "high", sum("high_count") AS "high_count", ` +
			`min("low") AS "low", sum("low_count") AS "low_count", last("close") AS "close", sum("close_count") AS "close_count", ` +
			`last("last") AS "last", sum("last_count") AS "last_count", ` +
			`sum("bid_sum") / sum("bid_count") AS "bid", sum("bid_count") AS "bid_count", sum("bid_sum") AS "bid_sum", ` +
			`sum("ask_sum") / sum("ask_count") AS "ask", sum("ask_count") AS "ask_count", sum("ask_sum") AS "ask_sum", ` +
			`sum("volume") AS "volume", sum("volume_count") AS "volume_count" INTO "quantx_db"."1_year_daily"."market_quotes" ` +
			`FROM "quantx_db"."30_days_hourly"."market_quotes" GROUP BY time(1d), * END`,
	} {
		if got := pl.Actions[i].Statements[0]; got != want {
			t.Errorf("action %d:\n got %s\nwant %s", i, got, want)
		}
	}
	drift := synced(d)
	drift.RPs[1].Duration = 2 * day
	pl = planV1(d, drift)
	if got := pl.Actions[0].Statements[0]; got != `ALTER RETENTION POLICY "30_days_hourly" ON "quantx_db" DURATION 30d SHARD DURATION 1d` {
		t.Errorf("alter: %s", got)
	}
	if got := pl.Actions[0].Description; got != "alter retention policy 30_days_hourly: duration 2d, want 30d" {
		t.Errorf("description: %s", got)
	}
}

func cqKinds(d Desired, kind string) []string {
	var out []string
	for _, r := range d.rollups() {
		out = append(out, kind+" "+r.Name)
	}
	return out
}
