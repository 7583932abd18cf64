package influx

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// QueryError is a statement the server refused. 1.x answers HTTP 200 with
// {"results":[{"error": ...}]}, so it is found by parsing, not by status.
type QueryError struct {
	Statement string
	Message   string
}

func (e *QueryError) Error() string {
	stmt := e.Statement
	if len(stmt) > 120 {
		stmt = stmt[:117] + "..."
	}
	return fmt.Sprintf("influxql %s: %s", stmt, e.Message)
}

// Unwrap lets callers test errors.Is(err, ErrFieldTypeConflict).
func (e *QueryError) Unwrap() error {
	if strings.Contains(e.Message, "field type conflict") {
		return ErrFieldTypeConflict
	}
	return nil
}

// series is one series of a /query answer.
type series struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
	Values  [][]any  `json:"values"`
}

// col returns the value of column name in row i, or nil.
func (s series) col(row []any, name string) any {
	if i := slices.Index(s.Columns, name); i >= 0 && i < len(row) {
		return row[i]
	}
	return nil
}

// query runs one InfluxQL statement through POST /query. One statement per
// request: with several, an error in the first leaves the others "not
// executed" and the answer harder to attribute.
func (p *Provisioner) query(ctx context.Context, db, stmt string) ([]series, error) {
	form := url.Values{"q": {stmt}}
	if db != "" {
		form.Set("db", db)
	}
	resp, err := p.do(ctx, http.MethodPost, "/query", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return nil, &QueryError{Statement: stmt, Message: fmt.Sprintf("http %d: %s", resp.StatusCode, serverMessage(resp))}
	}
	var body struct {
		Error   string `json:"error"`
		Results []struct {
			Error  string   `json:"error"`
			Series []series `json:"series"`
		} `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("influxql %s: decode answer: %w", stmt, err)
	}
	if body.Error != "" {
		return nil, &QueryError{Statement: stmt, Message: body.Error}
	}
	var out []series
	for _, r := range body.Results {
		if r.Error != "" {
			return nil, &QueryError{Statement: stmt, Message: r.Error}
		}
		out = append(out, r.Series...)
	}
	p.log.DebugContext(ctx, "influxql", "statement", stmt)
	return out, nil
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

func (p *Provisioner) readV1(ctx context.Context) (liveV1, error) {
	var live liveV1
	db := p.desired.Database
	dbs, err := p.query(ctx, "", "SHOW DATABASES")
	if err != nil {
		return live, fmt.Errorf("read databases: %w", err)
	}
	for _, s := range dbs {
		for _, row := range s.Values {
			if name, _ := s.col(row, "name").(string); name == db {
				live.DatabaseExists = true
			}
		}
	}
	if !live.DatabaseExists {
		return live, nil
	}
	rps, err := p.query(ctx, "", "SHOW RETENTION POLICIES ON "+quoteIdent(db))
	if err != nil {
		return live, fmt.Errorf("read retention policies of %s: %w", db, err)
	}
	for _, s := range rps {
		for _, row := range s.Values {
			rp := liveRP{}
			rp.Name, _ = s.col(row, "name").(string)
			rp.Default, _ = s.col(row, "default").(bool)
			if n, ok := s.col(row, "replicaN").(float64); ok {
				rp.Replication = int(n)
			}
			if rp.Duration, err = parseGoDuration(s.col(row, "duration")); err != nil {
				return live, fmt.Errorf("retention policy %s: %w", rp.Name, err)
			}
			if rp.ShardDuration, err = parseGoDuration(s.col(row, "shardGroupDuration")); err != nil {
				return live, fmt.Errorf("retention policy %s: %w", rp.Name, err)
			}
			live.RPs = append(live.RPs, rp)
		}
	}
	cqs, err := p.query(ctx, "", "SHOW CONTINUOUS QUERIES")
	if err != nil {
		return live, fmt.Errorf("read continuous queries: %w", err)
	}
	for _, s := range cqs {
		if s.Name != db { // one series per database
			continue
		}
		for _, row := range s.Values {
			cq := liveCQ{}
			cq.Name, _ = s.col(row, "name").(string)
			cq.Query, _ = s.col(row, "query").(string)
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
	obj := func(kind, name, state, detail string) {
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
				Note: fmt.Sprintf("not in the desired state (duration %s); left as is: quantx-db never drops data", Duration(rp.Duration).ddl())})
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

// applyV1 runs the actions' statements in order and stops at the first error.
func (p *Provisioner) applyV1(ctx context.Context, actions []Action) ([]Action, error) {
	done := []Action{}
	for _, a := range actions {
		for _, stmt := range a.Statements {
			if _, err := p.query(ctx, p.desired.Database, stmt); err != nil {
				return done, fmt.Errorf("%s %s: %w", a.Kind, a.Object, err)
			}
		}
		p.log.InfoContext(ctx, "influx action applied", "kind", a.Kind, "object", a.Object)
		done = append(done, a)
	}
	return done, nil
}
