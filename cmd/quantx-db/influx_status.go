package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/influx"
	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/internal/report"
	"github.com/quantx/quantx-db/stack"
)

// influxStatusReport is influx status: the drift from the desired state and, unless turned off, the
// rolled intervals that miss points written after their last scheduled rollup.
type influxStatusReport struct {
	influx.Status
	Rollups *influx.StaleReport `json:"rollups,omitempty"`
	// RollupsError is why the rollups could not be compared (the drift was read).
	RollupsError report.Error `json:"rollups_error,omitzero"`
}

func newInfluxStatusCmd(d *deps, f *influxFlags) *cobra.Command {
	var (
		staleSince time.Duration
		sc         statusCheck
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Compare InfluxDB with the desired state and find stale rollups",
		Long: `Compare the server with the desired state (a line needs action when 'influx
setup' has something to do), then compare the rolled tiers with the raw
points: an hourly or daily interval whose <field>_count carriers differ from
the raw points the raw tier holds for it now is stale, because points came
after its last scheduled rollup (later than --late-tolerance). A stale
interval needs action too; 'influx backfill' re-rolls it. Only settled
intervals are compared, those the schedule will not recompute any more, from
--stale-since ago (default 72h, which reaches the newest settled day; 0 turns
the check off).`,
		Example: `  quantx-db influx status
  quantx-db influx status -o json | jq '.drift[].description, .rollups.stale'
  quantx-db influx status --stale-since 0     # drift only`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if staleSince < 0 {
				return usagef("for example --stale-since 72h, or 0 to skip the check", "--stale-since %s is negative", staleSince)
			}
			p, err := d.influxProvisioner(f)
			if err != nil {
				return d.statusUnreadable(ctx, sc, err)
			}
			st, err := p.Status(ctx)
			if err != nil {
				return d.statusUnreadable(ctx, sc, err)
			}
			rep := influxStatusReport{Status: st}
			// Rolled tiers that setup has yet to create or fix cannot be compared.
			if staleSince > 0 && st.InSync {
				sr, err := p.Stale(ctx, influx.StaleOptions{Since: staleSince})
				if err != nil {
					if ue := classify(ctx, err); ue.code == exitUsage || ue.code == exitInterrupted {
						return err
					}
					rep.RollupsError = report.Error{Err: err}
				} else {
					rep.Rollups = &sr
				}
			}
			return d.statusReport(sc, d.now(), d.influxFindings(rep), rep, func() output.Table { return influxStatusTable(rep) })
		},
	}
	cmd.Flags().DurationVar(&staleSince, "stale-since", 72*time.Hour, "look for stale rollups in intervals from this long ago (`DURATION`; 0: don't)")
	sc.add(cmd)
	return cmd
}

// influxFindings is the worst line of influx status and what explains it.
func (d *deps) influxFindings(rep influxStatusReport) findings {
	st := rep.Status
	worst := report.SeverityOK
	for _, o := range st.Objects {
		worst = max(worst, o.State.Severity())
	}
	switch {
	case rep.RollupsError.Err != nil:
		return actionOr(report.SeverityError, fmt.Errorf("influx: compare the rollups with the raw points: %w", rep.RollupsError.Err))
	case !st.InSync:
		return actionOr(max(worst, report.SeverityAction), checkFailed(fmt.Sprintf("influx: %d change(s) needed on database %s", len(st.Drift), st.Database),
			findingFix(stack.InfluxDrift{Changes: len(st.Drift)})))
	case rep.Rollups != nil && len(rep.Rollups.Stale) > 0:
		oldest := rep.Rollups.Stale[0].Start
		since := d.now().Sub(oldest).Truncate(time.Hour) + time.Hour
		return actionOr(max(worst, report.SeverityAction), checkFailed(fmt.Sprintf("influx: %d rolled interval(s) miss points written later than the late tolerance, the oldest from %s",
			len(rep.Rollups.Stale), output.Time(oldest)),
			findingFix(stack.InfluxStale{Intervals: len(rep.Rollups.Stale), Since: since})))
	}
	return actionOr(worst, nil)
}

func influxStatusTable(rep influxStatusReport) output.Table {
	st := rep.Status
	t := output.Table{Header: []string{"KIND", "NAME", "STATE", "DETAIL"}}
	for _, o := range st.Objects {
		t.Row(o.State.Severity(), o.Kind, o.Name, string(o.State), orDash(o.Detail))
	}
	if rep.Rollups != nil {
		for _, w := range rep.Rollups.Stale {
			t.Row(report.StateStale.Severity(), "rollup", w.Tier+" "+w.Measurement+" "+output.Time(w.Start), string(report.StateStale),
				fmt.Sprintf("%d raw point(s), the rollup covers %d (fields %v)", w.Source, w.Rolled, w.Fields))
		}
	}
	if rep.RollupsError.Err != nil {
		t.Row(report.SeverityError, "rollups", "settled intervals", string(report.StateError), "not compared: "+rep.RollupsError.Error())
	}
	state := "in sync"
	if !st.InSync {
		state = fmt.Sprintf("%d change(s) needed", len(st.Drift))
	}
	t.Notes = append(t.Notes, fmt.Sprintf("influx %s (%s %s), database %s: %s", st.Server.URL, st.Server.Dialect, st.Server.Version, st.Database, state))
	if rep.Rollups != nil {
		t.Notes = append(t.Notes, fmt.Sprintf("rollups: %d settled interval(s) since %s compared with the raw points, %d stale",
			rep.Rollups.Checked, output.Time(rep.Rollups.CheckedFrom), len(rep.Rollups.Stale)))
	}
	for _, a := range st.Drift {
		t.Notes = append(t.Notes, "  "+a.Description)
	}
	for _, e := range st.Extras {
		t.Notes = append(t.Notes, fmt.Sprintf("note: %s %s: %s", e.Kind, e.Name, e.Note))
	}
	return t
}
