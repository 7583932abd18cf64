package influx

import (
	"context"

	"github.com/quantx/quantx-db/internal/report"
)

// Plan is what Setup would do to make the server match the desired state.
type Plan struct {
	Server   Server   `json:"server"`
	Database string   `json:"database"`
	Objects  []Object `json:"objects"` // every desired object and its state
	Actions  []Action `json:"actions"` // empty when the server is in sync
	Extras   []Extra  `json:"extras"`  // live objects the desired state does not know: reported, never removed
}

// Object is one desired object (database, retention policy, continuous query,
// bucket, DBRP mapping, task) and how the server differs from it.
type Object struct {
	Kind   string       `json:"kind"`
	Name   string       `json:"name"`
	State  report.State `json:"state"`  // ok, missing or drift
	Detail string       `json:"detail"` // what drifted, "" when ok
}

// Object states (the shared report states).
const (
	StateOK      = report.StateOK
	StateMissing = report.StateMissing
	StateDrift   = report.StateDrift
)

// Action is one change. On 1.x it is one or more InfluxQL statements, run in
// order; on 2.x it is one HTTP API call.
type Action struct {
	Kind        string   `json:"kind"` // create_database, create_retention_policy, alter_retention_policy, create_continuous_query, replace_continuous_query, create_bucket, update_bucket, create_dbrp, update_dbrp, create_task, update_task
	Object      string   `json:"object"`
	Description string   `json:"description"`
	Statements  []string `json:"statements,omitempty"` // 1.x
	Call        *APICall `json:"call,omitempty"`       // 2.x
}

// APICall is a 2.x HTTP API call as the executor sends it. A value of the
// form "{id of bucket NAME}" stands for an ID known only once an earlier
// action in the same plan has run.
type APICall struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Body   any    `json:"body,omitempty"`
}

// Extra is a live object the desired state does not describe.
type Extra struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	Note string `json:"note"`
}

// Status is the drift summary of one server: Plan's findings for people and
// monitors. InSync is false when Setup has something to do.
type Status struct {
	Server   Server   `json:"server"`
	Database string   `json:"database"`
	InSync   bool     `json:"in_sync"`
	Objects  []Object `json:"objects"`
	Drift    []Action `json:"drift"`
	Extras   []Extra  `json:"extras"`
}

// Plan reads the live state and returns what Setup would change.
func (p *Provisioner) Plan(ctx context.Context) (Plan, error) {
	be, srv, err := p.backend(ctx)
	if err != nil {
		return Plan{}, err
	}
	pl, err := be.plan(ctx, p.desired)
	if err != nil {
		return Plan{}, err
	}
	pl.Server = srv
	return pl, nil
}

// Status reads the live state and summarises its drift from the desired state.
func (p *Provisioner) Status(ctx context.Context) (Status, error) {
	pl, err := p.Plan(ctx)
	if err != nil {
		return Status{}, err
	}
	return pl.Status(), nil
}

// Status turns a plan into the drift summary.
func (pl Plan) Status() Status {
	return Status{Server: pl.Server, Database: pl.Database, InSync: len(pl.Actions) == 0,
		Objects: nonNil(pl.Objects), Drift: nonNil(pl.Actions), Extras: nonNil(pl.Extras)}
}

// nonNil keeps JSON arrays as [] rather than null: the keys are a contract.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
