package influx

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// BackfillStep is one rollup run over history.
type BackfillStep struct {
	Rollup  string    `json:"rollup"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Queries int       `json:"queries"`
	Written int64     `json:"points_written"` // one per series and interval, all fields together, on both versions
}

// Sentinels of Backfill.
var (
	// ErrBackfillRange marks a backfill window that cannot run.
	ErrBackfillRange = errors.New("invalid backfill range")
	// ErrNotInSync means the server differs from the desired state: a re-roll
	// would write into tiers, or with rollups, that setup has yet to fix.
	ErrNotInSync = errors.New("influxdb is not in sync with the desired state")
)

// BackfillOptions says which history Backfill re-rolls: every rollup over
// [From, To), widened to whole intervals of each tier.
type BackfillOptions struct {
	From   time.Time
	To     time.Time // zero means now
	DryRun bool      // report the queries; write nothing
}

// BackfillReport is the outcome of Backfill.
type BackfillReport struct {
	Server   Server         `json:"server"`
	Database string         `json:"database"`
	DryRun   bool           `json:"dry_run"`
	Steps    []BackfillStep `json:"backfill"`
}

// Backfill runs every rollup once over a past window, raw to hourly first,
// then hourly to daily: for history before the rollups existed, and for
// points that came later than the late tolerance (cron: a recent window,
// e.g. the last 24 hours, every hour). Running it again writes the same
// points. The server must be in sync with the desired state (ErrNotInSync
// otherwise: run Setup).
func (p *Provisioner) Backfill(ctx context.Context, o BackfillOptions) (BackfillReport, error) {
	if o.To.IsZero() {
		o.To = p.now()
	}
	if o.From.IsZero() || !o.From.Before(o.To) {
		return BackfillReport{}, fmt.Errorf("%w: from %s is not before to %s", ErrBackfillRange,
			o.From.UTC().Format(time.RFC3339), o.To.UTC().Format(time.RFC3339))
	}
	pl, err := p.Plan(ctx)
	if err != nil {
		return BackfillReport{}, err
	}
	rep := BackfillReport{Server: pl.Server, Database: pl.Database, DryRun: o.DryRun, Steps: p.backfillPlan(o.From, o.To)}
	if len(pl.Actions) > 0 {
		return rep, fmt.Errorf("%w: %d change(s) pending on database %s", ErrNotInSync, len(pl.Actions), pl.Database)
	}
	if o.DryRun {
		return rep, nil
	}
	be, _, err := p.backend(ctx)
	if err != nil {
		return rep, err
	}
	rep.Steps, err = p.backfill(ctx, be, o.From, o.To)
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
