package stack

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/quantx/quantx-db/elastic"
	"github.com/quantx/quantx-db/influx"
	"github.com/quantx/quantx-db/internal/report"
	"github.com/quantx/quantx-db/migrations"
	"github.com/quantx/quantx-db/partitions"
	"github.com/quantx/quantx-db/roles"
)

// ProvisionOptions says what Provision does.
type ProvisionOptions struct {
	DryRun      bool     // print the plan; change nothing
	Only        []string // stores to provision; empty means every configured one
	MonthsAhead int      // partitions premade after the current month; 0 means 3
}

// StoreResult is one store's part of a provisioning run.
type StoreResult struct {
	Store   string  `json:"store"`
	Status  Outcome `json:"status"`
	Note    string  `json:"note,omitempty"` // why a store was skipped
	Plan    []Step  `json:"plan"`           // what would change, before anything ran
	Applied []Step  `json:"applied"`        // what did change
	// Error is the failure: a *StoreError whose cause stays reachable
	// (errors.Is(err, pglock.ErrLocked)), so that exit codes and hints are
	// decided from it, never from its text; JSON shows its message.
	Error report.Error `json:"error,omitzero"`
}

// Err is the store's failure, or nil.
func (r StoreResult) Err() error { return r.Error.Err }

// fail records err as the store's failure.
func (r *StoreResult) fail(err error) {
	r.Status, r.Error = StatusFailed, report.Error{Err: storeErr(r.Store, err)}
}

// Outcome is what a provisioning run did with one store.
type Outcome string

// Store outcomes.
const (
	StatusSkipped   Outcome = "skipped"   // not selected, or not configured
	StatusUnchanged Outcome = "unchanged" // nothing to do
	StatusPlanned   Outcome = "planned"   // a dry run: Plan would be applied
	StatusChanged   Outcome = "changed"   // Applied was done
	StatusFailed    Outcome = "failed"
)

// Severity is the outcome's severity, for the shared colours: a change
// done is fine, a planned one asks for a run.
func (o Outcome) Severity() report.Severity {
	switch o {
	case StatusUnchanged, StatusChanged:
		return report.SeverityOK
	case StatusSkipped:
		return report.SeveritySkipped
	case StatusPlanned:
		return report.SeverityAction
	}
	return report.SeverityError
}

// Step is one change of a provisioning plan, or one change a run made, as
// data: the part of the store, the operation and its object.
type Step struct {
	Part   string `json:"part"`             // migrate, partitions, roles, influx or elastic
	Op     string `json:"op"`               // apply, ensure, create, hash_incomplete, ...; the store's own action kinds; OpReindexRequired
	Object string `json:"object"`           // a migration file, a partition or table, a role statement, an InfluxDB or search object
	Detail string `json:"detail,omitempty"` // why, or what exactly
}

// OpReindexRequired is a search change that only a reindex makes:
// Provision plans it and never does it.
const OpReindexRequired = elastic.OpReindexRequired

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
		if s.Status == StatusFailed && s.Err() != nil {
			errs = append(errs, s.Err())
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
		r := StoreResult{Store: name, Plan: []Step{}, Applied: []Step{}}
		switch {
		case len(o.Only) > 0 && !slices.Contains(o.Only, name):
			r.Status, r.Note = StatusSkipped, "not selected"
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

func planStore(ctx context.Context, s Stores, name string, o ProvisionOptions) ([]Step, error) {
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
		return influxSteps(p.Actions), nil
	case Elastic:
		p, err := s.Elastic.Plan(ctx)
		if err != nil {
			return nil, err
		}
		out := []Step{}
		for _, a := range p.Actions {
			out = append(out, Step{Part: Elastic, Op: a.Op, Object: a.Kind + " " + a.Name, Detail: a.Detail})
		}
		return out, nil
	}
	return nil, nil
}

func planPostgres(ctx context.Context, s Stores, o ProvisionOptions) ([]Step, error) {
	p, err := s.Migrations.PlanFor(ctx, migrations.Target{Direction: migrations.Up})
	if err != nil {
		return nil, err
	}
	out := []Step{}
	for _, st := range p.Steps {
		out = append(out, Step{Part: "migrate", Op: "apply", Object: st.File})
	}
	if len(p.Steps) > 0 {
		// The partitioned tables may not exist yet: ensure runs after the migrations.
		return append(out, Step{Part: "partitions", Op: "ensure", Object: partitions.MonthlyTable,
			Detail: fmt.Sprintf("%d month(s) ahead of the current UTC month", o.MonthsAhead)}), nil
	}
	h, err := s.Partitions.Health(ctx)
	if err != nil {
		return nil, err
	}
	if h.HorizonMonths < o.MonthsAhead {
		out = append(out, Step{Part: "partitions", Op: "ensure", Object: h.Table,
			Detail: fmt.Sprintf("up to %d month(s) ahead (the premade horizon is %d month(s))", o.MonthsAhead, max(h.HorizonMonths, 0))})
	}
	for _, hc := range h.Hash {
		if !hc.OK {
			out = append(out, Step{Part: "partitions", Op: "hash_incomplete", Object: hc.Table, Detail: hc.String()})
		}
	}
	return out, nil
}

// planRoles adds what roles ensure would do now; objects the pending migrations
// create are covered when it runs, after them.
func planRoles(ctx context.Context, s Stores, out []Step) ([]Step, error) {
	rp, err := s.Roles.Plan(ctx)
	if err != nil {
		return out, err
	}
	for _, a := range rp.Actions {
		out = append(out, roleStep(a))
	}
	if len(out) > 0 && !slices.ContainsFunc(out, func(st Step) bool { return st.Part == "roles" }) {
		out = append(out, Step{Part: "roles", Op: "ensure", Object: "ownership and grants of what the migrations and partitions create"})
	}
	return out, nil
}

func roleStep(a roles.Action) Step { return Step{Part: "roles", Op: a.Kind, Object: a.SQL} }

// ErrHashIncomplete is a hash-partitioned table that misses remainders:
// provisioning creates none (it cannot know the data), and reports it.
var ErrHashIncomplete = errors.New("hash partitions incomplete")

func applyStore(ctx context.Context, s Stores, name string, o ProvisionOptions) ([]Step, error) {
	switch name {
	case Postgres:
		out := []Step{}
		rep, err := s.Migrations.Up(ctx, 0)
		for _, a := range rep.Applied {
			out = append(out, Step{Part: "migrate", Op: "apply", Object: a.File})
		}
		if err != nil {
			return out, err
		}
		er, err := s.Partitions.Ensure(ctx, partitions.EnsureOptions{MonthsAhead: o.MonthsAhead})
		for _, c := range er.Created {
			out = append(out, Step{Part: "partitions", Op: "create", Object: c})
		}
		if err != nil {
			return out, err
		}
		if !er.HashOK {
			return out, ErrHashIncomplete
		}
		if s.Roles != nil {
			// After the migrations and partitions: it makes the owner own what they created.
			rr, err := s.Roles.Ensure(ctx)
			for _, a := range rr.Actions {
				out = append(out, roleStep(a))
			}
			if err != nil {
				return out, err
			}
		}
		return out, nil
	case Influx:
		rep, err := s.Influx.Setup(ctx, influx.SetupOptions{})
		return influxSteps(rep.Actions), err
	case Elastic:
		p, err := s.Elastic.Setup(ctx)
		out := []Step{}
		for _, a := range p.Actions {
			if a.Op != OpReindexRequired {
				out = append(out, Step{Part: Elastic, Op: a.Op, Object: a.Kind + " " + a.Name})
			}
		}
		return out, err
	}
	return nil, nil
}

func influxSteps(actions []influx.Action) []Step {
	out := []Step{}
	for _, a := range actions {
		out = append(out, Step{Part: Influx, Op: a.Kind, Object: a.Object, Detail: a.Description})
	}
	return out
}
