package influx

import (
	"context"
	"fmt"
	"time"
)

// SetupOptions says what Setup does beyond converging the server.
type SetupOptions struct {
	DryRun bool // plan only; change nothing
	// BackfillFrom, when set, runs every rollup once over [BackfillFrom,
	// BackfillTo) after the setup: CQs and tasks only cover new intervals.
	BackfillFrom time.Time
	BackfillTo   time.Time // zero means now
}

// Report is the outcome of Setup.
type Report struct {
	Server   Server         `json:"server"`
	Database string         `json:"database"`
	DryRun   bool           `json:"dry_run"`
	Actions  []Action       `json:"actions"` // applied, or to apply under DryRun
	Extras   []Extra        `json:"extras"`
	Backfill []BackfillStep `json:"backfill"`
}

// Setup converges the server to the desired state: it creates what is
// missing and alters what drifted, and never drops data. It is idempotent: a
// second run has an empty plan. On error, Report.Actions lists what applied.
func (p *Provisioner) Setup(ctx context.Context, o SetupOptions) (Report, error) {
	now := p.now()
	if !o.BackfillFrom.IsZero() {
		if o.BackfillTo.IsZero() {
			o.BackfillTo = now
		}
		if !o.BackfillFrom.Before(o.BackfillTo) {
			return Report{}, fmt.Errorf("%w: from %s is not before to %s", ErrBackfillRange,
				o.BackfillFrom.UTC().Format(time.RFC3339), o.BackfillTo.UTC().Format(time.RFC3339))
		}
	}
	pl, err := p.Plan(ctx)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Server: pl.Server, Database: pl.Database, DryRun: o.DryRun, Actions: pl.Actions, Extras: pl.Extras, Backfill: []BackfillStep{}}
	if o.DryRun {
		rep.Backfill = p.backfillPlan(o.BackfillFrom, o.BackfillTo)
		return rep, nil
	}
	be, _, err := p.backend(ctx)
	if err != nil {
		return rep, err
	}
	if rep.Actions, err = be.apply(ctx, p.desired, pl.Actions); err != nil {
		return rep, err
	}
	if !o.BackfillFrom.IsZero() {
		rep.Backfill, err = p.backfill(ctx, be, o.BackfillFrom, o.BackfillTo)
	}
	return rep, err
}
