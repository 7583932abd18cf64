package stack

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/quantx/quantx-db/influx"
	"github.com/quantx/quantx-db/migrations"
	"github.com/quantx/quantx-db/partitions"
)

// ProvisionOptions says what Provision does.
type ProvisionOptions struct {
	DryRun      bool     // print the plan; change nothing
	Only        []string // stores to provision; empty means every configured one
	MonthsAhead int      // partitions premade after the current month; 0 means 3
}

// StoreResult is one store's part of a provisioning run.
type StoreResult struct {
	Store   string   `json:"store"`
	Status  string   `json:"status"` // skipped | unchanged | planned | changed | failed
	Note    string   `json:"note,omitempty"`
	Plan    []string `json:"plan"`    // what would change, before anything ran
	Applied []string `json:"applied"` // what did change
	Error   string   `json:"error,omitempty"`
	// Err is the failure behind Error, a *StoreError whose cause stays
	// reachable (errors.Is(err, migrations.ErrLocked)): exit codes and hints
	// are decided from it, never from the text.
	Err error `json:"-"`
}

// fail records err as the store's failure.
func (r *StoreResult) fail(err error) {
	r.Status, r.Err = StatusFailed, storeErr(r.Store, err)
	r.Error = err.Error()
}

// Store result states.
const (
	StatusSkipped   = "skipped"
	StatusUnchanged = "unchanged"
	StatusPlanned   = "planned"
	StatusChanged   = "changed"
	StatusFailed    = "failed"
)

// ProvisionReport is the plan and the result per store, in order.
type ProvisionReport struct {
	DryRun  bool          `json:"dry_run"`
	Changed bool          `json:"changed"`
	Failed  bool          `json:"failed"`
	Stores  []StoreResult `json:"stores"`
}

// order is the provisioning order: the schema before its partitions, and
// PostgreSQL before the stores that only mirror its data.
var order = []string{Postgres, Influx, Elastic}

// ErrNotConfigured is returned when --only names a store without settings.
var ErrNotConfigured = errors.New("store not configured")

// Err joins the failures of every failed store, in provisioning order, or
// returns nil. Each is a *StoreError.
func (r ProvisionReport) Err() error {
	var errs []error
	for _, s := range r.Stores {
		if s.Status == StatusFailed && s.Err != nil {
			errs = append(errs, s.Err)
		}
	}
	return errors.Join(errs...)
}

// Provision plans every store first, then applies the plans in order. A
// store that fails does not stop the others: they are independent, and a
// DBA wants to see every problem of a run at once.
func Provision(ctx context.Context, s Stores, o ProvisionOptions) (ProvisionReport, error) {
	if o.MonthsAhead == 0 {
		o.MonthsAhead = 3
	}
	for _, name := range o.Only {
		if !slices.Contains(order, name) {
			return ProvisionReport{}, fmt.Errorf("unknown store %q: use postgres, influx or elastic", name)
		}
		if !s.configured(name) && s.unavailable(name) == nil {
			return ProvisionReport{}, fmt.Errorf("%s: %w", name, ErrNotConfigured)
		}
	}
	rep := ProvisionReport{DryRun: o.DryRun, Stores: []StoreResult{}}
	for _, name := range order {
		r := StoreResult{Store: name, Plan: []string{}, Applied: []string{}}
		switch {
		case len(o.Only) > 0 && !slices.Contains(o.Only, name):
			r.Status, r.Note = StatusSkipped, "not in --only"
		case s.unavailable(name) != nil:
			r.fail(s.Unavailable[name])
			rep.Failed = true
		case !s.configured(name):
			r.Status, r.Note = StatusSkipped, "not configured"
		default:
			plan, err := planStore(ctx, s, name, o)
			if plan != nil {
				r.Plan = plan
			}
			if err != nil {
				r.fail(err)
				rep.Failed = true
			} else if len(r.Plan) == 0 {
				r.Status = StatusUnchanged
			} else {
				r.Status = StatusPlanned
			}
		}
		rep.Stores = append(rep.Stores, r)
	}
	if o.DryRun {
		return rep, nil
	}
	for i := range rep.Stores {
		r := &rep.Stores[i]
		if r.Status != StatusPlanned {
			continue
		}
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		applied, err := applyStore(ctx, s, r.Store, o)
		if applied != nil {
			r.Applied = applied
		}
		switch {
		case err != nil:
			r.fail(err)
			rep.Failed = true
		case len(applied) == 0:
			r.Status = StatusUnchanged
		default:
			r.Status = StatusChanged
			rep.Changed = true
		}
	}
	return rep, nil
}

func planStore(ctx context.Context, s Stores, name string, o ProvisionOptions) ([]string, error) {
	switch name {
	case Postgres:
		out, err := planPostgres(ctx, s, o)
		if err != nil || s.Roles == nil {
			return out, err
		}
		return planRoles(ctx, s, out)
	case Influx:
		p, err := s.Influx.Plan(ctx)
		if err != nil {
			return nil, err
		}
		return influxLines(p.Actions), nil
	case Elastic:
		p, err := s.Elastic.Plan(ctx)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, a := range p.Actions {
			if a.Op == "reindex_required" {
				out = append(out, fmt.Sprintf("%s %s needs 'quantx-db elastic reindex' (not done by provision): %s", a.Kind, a.Name, a.Detail))
				continue
			}
			out = append(out, fmt.Sprintf("%s %s %s: %s", a.Op, a.Kind, a.Name, a.Detail))
		}
		return out, nil
	}
	return nil, nil
}

func planPostgres(ctx context.Context, s Stores, o ProvisionOptions) ([]string, error) {
	p, err := s.Migrations.PlanFor(ctx, migrations.Target{Direction: migrations.Up})
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, st := range p.Steps {
		out = append(out, "migrate: apply "+st.File)
	}
	if len(p.Steps) > 0 {
		// The partitioned tables may not exist yet: ensure runs after the migrations.
		return append(out, fmt.Sprintf("partitions: ensure %d month(s) ahead of the current UTC month", o.MonthsAhead)), nil
	}
	h, err := s.Partitions.Health(ctx)
	if err != nil {
		return nil, err
	}
	if h.HorizonMonths < o.MonthsAhead {
		out = append(out, fmt.Sprintf("partitions: premade horizon is %d month(s); create partitions up to %d month(s) ahead", max(h.HorizonMonths, 0), o.MonthsAhead))
	}
	for _, hc := range h.Hash {
		if !hc.OK {
			out = append(out, "partitions: "+hc.String())
		}
	}
	return out, nil
}

// planRoles adds what roles ensure would do now; objects the pending migrations
// create are covered when it runs, after them.
func planRoles(ctx context.Context, s Stores, out []string) ([]string, error) {
	rp, err := s.Roles.Plan(ctx)
	if err != nil {
		return out, err
	}
	for _, a := range rp.Actions {
		out = append(out, "roles: "+a.SQL)
	}
	if len(out) > 0 && !slices.ContainsFunc(out, func(l string) bool { return strings.HasPrefix(l, "roles: ") }) {
		out = append(out, "roles: ownership and grants of what the migrations and partitions create")
	}
	return out, nil
}

func applyStore(ctx context.Context, s Stores, name string, o ProvisionOptions) ([]string, error) {
	switch name {
	case Postgres:
		out := []string{}
		rep, err := s.Migrations.Up(ctx, 0)
		for _, a := range rep.Applied {
			out = append(out, "migrate: applied "+a.File)
		}
		if err != nil {
			return out, err
		}
		er, err := s.Partitions.Ensure(ctx, partitions.EnsureOptions{MonthsAhead: o.MonthsAhead})
		for _, c := range er.Created {
			out = append(out, "partitions: created "+c)
		}
		if err != nil {
			return out, err
		}
		if !er.HashOK {
			return out, fmt.Errorf("hash partitions incomplete: see 'quantx-db partitions list'")
		}
		if s.Roles != nil {
			// After the migrations and partitions: it makes the owner own what they created.
			rr, err := s.Roles.Ensure(ctx)
			for _, a := range rr.Actions {
				out = append(out, "roles: "+a.SQL)
			}
			if err != nil {
				return out, err
			}
		}
		return out, nil
	case Influx:
		rep, err := s.Influx.Setup(ctx, influx.SetupOptions{})
		return influxLines(rep.Actions), err
	case Elastic:
		p, err := s.Elastic.Setup(ctx)
		out := []string{}
		for _, a := range p.Actions {
			if a.Op != "reindex_required" {
				out = append(out, fmt.Sprintf("%s %s %s", a.Op, a.Kind, a.Name))
			}
		}
		return out, err
	}
	return nil, nil
}

func influxLines(actions []influx.Action) []string {
	out := []string{}
	for _, a := range actions {
		out = append(out, a.Description)
	}
	return out
}
