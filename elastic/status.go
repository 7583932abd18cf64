package elastic

import (
	"context"

	"github.com/quantx/quantx-db/internal/report"
)

// The states of a definition in Status (the shared report states).
const (
	StateOK      = report.StateOK
	StateMissing = report.StateMissing         // not on the server: Setup creates it
	StateChanged = report.StateChanged         // the definition was edited since it was applied (history checksum)
	StateDrift   = report.StateDrift           // the server differs from the definition: Setup can fix it in place
	StateReindex = report.StateReindexRequired // the server differs in a way only Reindex can fix
	// StateInterrupted: a reindex stopped half-way (read and write aliases on
	// different indices, or a newer physical index without aliases, perhaps
	// with a write block on the write index); rerunning Reindex finishes it.
	StateInterrupted = report.StateReindexInterrupted
)

// ItemStatus is the state of one definition on the server.
type ItemStatus struct {
	Kind           string       `json:"kind"` // component_template, index_template, index
	Name           string       `json:"name"`
	ServerName     string       `json:"server_name"`
	Version        int          `json:"version"`                  // in the definition
	AppliedVersion int          `json:"applied_version"`          // in the history; 0 when never applied
	LiveVersion    int          `json:"live_version,omitempty"`   // of the physical index behind the write alias
	PhysicalIndex  string       `json:"physical_index,omitempty"` // the write index
	State          report.State `json:"state"`
	Detail         string       `json:"detail"`
}

// RetentionStatus is how a time-based index is kept in bounds.
type RetentionStatus struct {
	Index              string   `json:"index"`
	Mode               string   `json:"mode"`   // ilm, ism or client (the tool rolls over and deletes on every setup)
	Policy             string   `json:"policy"` // ILM/ISM policy name; "" for client
	Attached           bool     `json:"attached"`
	WriteIndex         string   `json:"write_index"`
	Generations        int      `json:"generations"`
	RolloverDue        bool     `json:"rollover_due"`
	ExpiredGenerations []string `json:"expired_generations"`
	Detail             string   `json:"detail"`
}

// Status is the comparison of every definition with the server.
type Status struct {
	Engine        Engine            `json:"engine"`
	RetentionMode string            `json:"retention_mode"`
	Items         []ItemStatus      `json:"items"`
	Retention     []RetentionStatus `json:"retention"`
	Pending       []Action          `json:"pending"` // what Setup would do (and what needs Reindex)
	Drift         bool              `json:"drift"`   // anything not ok: the CLI exits 3
}

// Status compares the definitions, the history and the server. It changes
// nothing.
func (p *Provisioner) Status(ctx context.Context) (Status, error) {
	in, err := p.inspect(ctx)
	if err != nil {
		return Status{}, err
	}
	s := Status{Engine: p.engine, RetentionMode: in.plan.RetentionMode, Items: in.items, Retention: in.retent, Pending: in.plan.Actions}
	s.Drift = len(in.plan.Actions) > 0
	for _, it := range in.items {
		if it.State != StateOK {
			s.Drift = true
		}
	}
	return s, nil
}
