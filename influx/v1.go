package influx

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/quantx/quantx-db/internal/influxclient"
	"github.com/quantx/quantx-db/internal/report"
)

// v1 is the 1.x dialect: InfluxQL over /query for everything, continuous
// queries for the rollups.
type v1 struct {
	c   *influxclient.Client
	log *slog.Logger
}

// query runs one InfluxQL statement.
func (b *v1) query(ctx context.Context, db, stmt string) ([]influxclient.Series, error) {
	return b.c.Query(ctx, influxclient.Query{DB: db, Statement: stmt})
}

// liveV1 is what a 1.x server has for the desired database.
type liveV1 struct {
	DatabaseExists bool
	RPs            []liveRP
	CQs            []liveCQ // continuous queries of this database only
}

type liveRP struct {
	Name          string
	Duration      time.Duration // 0: infinite
	ShardDuration time.Duration
	Replication   int
	Default       bool
}

type liveCQ struct {
	Name  string
	Query string
}

func (b *v1) plan(ctx context.Context, d Desired) (Plan, error) {
	live, err := b.read(ctx, d.Database)
	if err != nil {
		return Plan{}, err
	}
	return planV1(d, live), nil
}

func (b *v1) read(ctx context.Context, db string) (liveV1, error) {
	var live liveV1
	dbs, err := b.query(ctx, "", "SHOW DATABASES")
	if err != nil {
		return live, fmt.Errorf("read databases: %w", err)
	}
	for _, s := range dbs {
		for _, row := range s.Values {
			if name, _ := s.Col(row, "name").(string); name == db {
				live.DatabaseExists = true
			}
		}
	}
	if !live.DatabaseExists {
		return live, nil
	}
	rps, err := b.query(ctx, "", "SHOW RETENTION POLICIES ON "+quoteIdent(db))
	if err != nil {
		return live, fmt.Errorf("read retention policies of %s: %w", db, err)
	}
	for _, s := range rps {
		for _, row := range s.Values {
			rp := liveRP{}
			rp.Name, _ = s.Col(row, "name").(string)
			rp.Default, _ = s.Col(row, "default").(bool)
			if n, ok := s.Col(row, "replicaN").(float64); ok {
				rp.Replication = int(n)
			}
			if rp.Duration, err = parseGoDuration(s.Col(row, "duration")); err != nil {
				return live, fmt.Errorf("retention policy %s: %w", rp.Name, err)
			}
			if rp.ShardDuration, err = parseGoDuration(s.Col(row, "shardGroupDuration")); err != nil {
				return live, fmt.Errorf("retention policy %s: %w", rp.Name, err)
			}
			live.RPs = append(live.RPs, rp)
		}
	}
	cqs, err := b.query(ctx, "", "SHOW CONTINUOUS QUERIES")
	if err != nil {
		return live, fmt.Errorf("read continuous queries: %w", err)
	}
	for _, s := range cqs {
		if s.Name != db { // one series per database
			continue
		}
		for _, row := range s.Values {
			cq := liveCQ{}
			cq.Name, _ = s.Col(row, "name").(string)
			cq.Query, _ = s.Col(row, "query").(string)
			live.CQs = append(live.CQs, cq)
		}
	}
	return live, nil
}

// parseGoDuration reads SHOW RETENTION POLICIES durations ("168h0m0s").
func parseGoDuration(v any) (time.Duration, error) {
	s, _ := v.(string)
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: %w", s, err)
	}
	return d, nil
}

// planV1 compares the desired state with a 1.x server's. It is pure: the
// unit tests feed it live states, the integration tests a real server's.
func planV1(d Desired, live liveV1) Plan {
	db := d.Database
	pl := Plan{Database: db}
	raw := d.raw()
	obj := func(kind, name string, state report.State, detail string) {
		pl.Objects = append(pl.Objects, Object{Kind: kind, Name: name, State: state, Detail: detail})
	}
	if !live.DatabaseExists {
		obj("database", db, StateMissing, "")
		pl.Actions = append(pl.Actions, Action{Kind: "create_database", Object: db,
			Description: fmt.Sprintf("create database %s with default retention policy %s (%s)", db, raw.Name, raw.Duration.ddl()),
			Statements: []string{fmt.Sprintf("CREATE DATABASE %s WITH DURATION %s REPLICATION 1 SHARD DURATION %s NAME %s",
				quoteIdent(db), raw.Duration.ddl(), Duration(raw.shardDuration()).ddl(), quoteIdent(raw.Name))}})
		obj("retention_policy", raw.Name, StateMissing, "")
	} else {
		obj("database", db, StateOK, "")
	}
	for i, t := range d.Tiers {
		if !live.DatabaseExists && i == 0 {
			continue // CREATE DATABASE ... NAME made it
		}
		var rp *liveRP
		for j := range live.RPs {
			if live.RPs[j].Name == t.Name {
				rp = &live.RPs[j]
			}
		}
		def := ""
		if i == 0 {
			def = " DEFAULT" // writes without an rp must land in the raw tier (seed defect 46)
		}
		if rp == nil {
			obj("retention_policy", t.Name, StateMissing, "")
			pl.Actions = append(pl.Actions, Action{Kind: "create_retention_policy", Object: t.Name,
				Description: fmt.Sprintf("create retention policy %s (%s)", t.Name, t.Duration.ddl()),
				Statements: []string{fmt.Sprintf("CREATE RETENTION POLICY %s ON %s DURATION %s REPLICATION 1 SHARD DURATION %s%s",
					quoteIdent(t.Name), quoteIdent(db), t.Duration.ddl(), Duration(t.shardDuration()).ddl(), def)}})
			continue
		}
		var diffs []string
		if rp.Duration != time.Duration(t.Duration) {
			diffs = append(diffs, fmt.Sprintf("duration %s, want %s", Duration(rp.Duration).ddl(), t.Duration.ddl()))
		}
		if rp.ShardDuration != t.shardDuration() {
			diffs = append(diffs, fmt.Sprintf("shard duration %s, want %s", Duration(rp.ShardDuration).ddl(), Duration(t.shardDuration()).ddl()))
		}
		if i == 0 && !rp.Default {
			diffs = append(diffs, "not the default retention policy")
		}
		if len(diffs) == 0 {
			obj("retention_policy", t.Name, StateOK, "")
			continue
		}
		obj("retention_policy", t.Name, StateDrift, strings.Join(diffs, "; "))
		// ALTER, never DROP + CREATE: dropping a retention policy deletes its data.
		pl.Actions = append(pl.Actions, Action{Kind: "alter_retention_policy", Object: t.Name,
			Description: fmt.Sprintf("alter retention policy %s: %s", t.Name, strings.Join(diffs, "; ")),
			Statements: []string{fmt.Sprintf("ALTER RETENTION POLICY %s ON %s DURATION %s SHARD DURATION %s%s",
				quoteIdent(t.Name), quoteIdent(db), t.Duration.ddl(), Duration(t.shardDuration()).ddl(), def)}})
	}
	for _, rp := range live.RPs {
		if !slices.ContainsFunc(d.Tiers, func(t Tier) bool { return t.Name == rp.Name }) {
			pl.Extras = append(pl.Extras, Extra{Kind: "retention_policy", Name: rp.Name,
				Note: fmt.Sprintf("not in the desired state (duration %s); left as is: provisioning never drops data", Duration(rp.Duration).ddl())})
		}
	}
	want := map[string]bool{}
	for _, r := range d.rollups() {
		want[r.Name] = true
		stmt := r.createCQ(db)
		i := slices.IndexFunc(live.CQs, func(c liveCQ) bool { return c.Name == r.Name })
		switch {
		case i < 0:
			obj("continuous_query", r.Name, StateMissing, "")
			pl.Actions = append(pl.Actions, Action{Kind: "create_continuous_query", Object: r.Name,
				Description: fmt.Sprintf("create continuous query %s: %s %s → %s every %s", r.Name, r.Measurement.Name, r.From.Name, r.To.Name, r.To.RollupEvery),
				Statements:  []string{stmt}})
		case normalizeInfluxQL(live.CQs[i].Query) != normalizeInfluxQL(stmt):
			obj("continuous_query", r.Name, StateDrift, "body differs")
			// A CQ cannot be altered. Dropping one deletes no data: it only stops
			// future runs, and the CREATE right after resumes them.
			pl.Actions = append(pl.Actions, Action{Kind: "replace_continuous_query", Object: r.Name,
				Description: fmt.Sprintf("replace continuous query %s (body differs; no data is dropped)", r.Name),
				Statements:  []string{fmt.Sprintf("DROP CONTINUOUS QUERY %s ON %s", quoteIdent(r.Name), quoteIdent(db)), stmt}})
		default:
			obj("continuous_query", r.Name, StateOK, "")
		}
	}
	for _, c := range live.CQs {
		if !want[c.Name] {
			pl.Extras = append(pl.Extras, Extra{Kind: "continuous_query", Name: c.Name, Note: "not in the desired state; left as is"})
		}
	}
	pl.Objects, pl.Actions, pl.Extras = nonNil(pl.Objects), nonNil(pl.Actions), nonNil(pl.Extras)
	return pl
}

// apply runs the actions' statements in order and stops at the first error.
func (b *v1) apply(ctx context.Context, d Desired, actions []Action) ([]Action, error) {
	done := []Action{}
	for _, a := range actions {
		for _, stmt := range a.Statements {
			if _, err := b.query(ctx, d.Database, stmt); err != nil {
				return done, fmt.Errorf("%s %s: %w", a.Kind, a.Object, err)
			}
		}
		b.log.InfoContext(ctx, "influx action applied", "kind", a.Kind, "object", a.Object)
		done = append(done, a)
	}
	return done, nil
}

// rollup runs the continuous query's SELECT ... INTO over [from, to) and
// returns the points written, as the server counts them.
func (b *v1) rollup(ctx context.Context, d Desired, r rollup, from, to time.Time) (int64, error) {
	where := fmt.Sprintf("time >= '%s' AND time < '%s'", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	// Writing the same points again changes nothing: a transient failure is retried.
	res, err := b.c.Query(ctx, influxclient.Query{DB: d.Database, Statement: r.selectInto(d.Database, where), Retry: true,
		Timeout: 20 * b.c.Timeout()})
	if err != nil {
		return 0, err
	}
	var n int64
	for _, s := range res {
		for _, row := range s.Values {
			if w, ok := s.Col(row, "written").(float64); ok {
				n += int64(w)
			}
		}
	}
	return n, nil
}
