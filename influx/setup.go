package influx

import (
	"context"
	"errors"
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

// BackfillStep is one rollup run over history.
type BackfillStep struct {
	Rollup  string    `json:"rollup"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Queries int       `json:"queries"`
	Written int64     `json:"points_written"` // one per series and interval, all fields together
}

// ErrBackfillRange marks a backfill window that cannot run.
var ErrBackfillRange = errors.New("invalid backfill range")

// Setup converges the server to the desired state: it creates what is
// missing and alters what drifted, and never drops data. It is idempotent: a
// second run has an empty plan. On error, Report.Actions lists what applied.
func (p *Provisioner) Setup(ctx context.Context, o SetupOptions) (Report, error) {
	now := time.Now()
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

// backfillWindow is how much history one backfill query covers: 24 rollup
// intervals (a day of hourly rollups, 24 days of daily ones), small enough
// that no query holds a day of raw points for every series at once.
func backfillWindow(every Duration) time.Duration { return 24 * time.Duration(every) }

// backfillPlan is what a backfill would run, for --dry-run.
func (p *Provisioner) backfillPlan(from, to time.Time) []BackfillStep {
	steps := []BackfillStep{}
	if from.IsZero() {
		return steps
	}
	for _, r := range p.desired.rollups() {
		ws := windows(from, to, time.Duration(r.To.RollupEvery), backfillWindow(r.To.RollupEvery))
		if len(ws) == 0 {
			continue
		}
		steps = append(steps, BackfillStep{Rollup: r.Name, From: ws[0][0], To: ws[len(ws)-1][1], Queries: len(ws)})
	}
	return steps
}

// backfill runs each rollup over [from, to) in windows. The rollups come in
// tier order, so the daily rollup reads hourly data the backfill just wrote.
func (p *Provisioner) backfill(ctx context.Context, be dialect, from, to time.Time) ([]BackfillStep, error) {
	steps := []BackfillStep{}
	for _, r := range p.desired.rollups() {
		ws := windows(from, to, time.Duration(r.To.RollupEvery), backfillWindow(r.To.RollupEvery))
		if len(ws) == 0 {
			continue
		}
		step := BackfillStep{Rollup: r.Name, From: ws[0][0], To: ws[len(ws)-1][1]}
		for _, w := range ws {
			n, err := be.rollup(ctx, p.desired, r, w[0], w[1])
			if err != nil {
				return steps, fmt.Errorf("backfill %s [%s, %s): %w", r.Name, w[0].Format(time.RFC3339), w[1].Format(time.RFC3339), err)
			}
			step.Queries++
			step.Written += n
		}
		p.log.InfoContext(ctx, "influx rollup backfilled", "rollup", r.Name, "queries", step.Queries, "points", step.Written)
		steps = append(steps, step)
	}
	return steps, nil
}
