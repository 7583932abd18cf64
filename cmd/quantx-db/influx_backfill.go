package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/influx"
	"github.com/quantx/quantx-db/internal/output"
)

func newInfluxBackfillCmd(d *deps, f *influxFlags) *cobra.Command {
	var (
		dryRun       bool
		since        time.Duration
		fromFlag, to string
	)
	cmd := &cobra.Command{
		Use:   "backfill (--since DURATION | --from RFC3339 [--to RFC3339])",
		Short: "Re-roll the hourly and daily tiers over a past window (cron: catch points that came too late)",
		Long: `Run every rollup once over a past window, raw to hourly first, then hourly
to daily, as the schedule would have with every point already there. The
window is widened to whole intervals of each tier, and running it again
writes the same points.

The scheduled rollups take in points written up to --late-tolerance after
their timestamp (2h by default). Anything later stays out of the hourly and
daily tiers until it is re-rolled: 'influx status' lists such stale
intervals, and a cron job running 'influx backfill --since 24h' every hour
(or a longer window, as late as your data can come, within the raw tier's 7
days) catches them. The database must be in sync with the desired state:
run 'influx setup' first.`,
		Example: `  quantx-db influx backfill --since 24h
  quantx-db influx backfill --from 2026-11-01T00:00:00Z --to 2026-11-08T00:00:00Z --dry-run
  # crontab: every hour, five minutes past
  5 * * * *  quantx-db influx backfill --since 24h --log-level warn`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var o influx.BackfillOptions
			o.DryRun = dryRun
			var err error
			switch {
			case since != 0 && fromFlag != "":
				return usagef("give --since or --from, not both", "--since and --from both name the start of the window")
			case since < 0:
				return usagef("for example --since 24h", "--since %s is negative", since)
			case since == 0 && fromFlag == "":
				return usagef("for example --since 24h, or --from 2026-11-01T00:00:00Z", "give the window to re-roll with --since or --from")
			case to != "" && fromFlag == "":
				return usagef("add --from, or use --since", "--to needs --from")
			}
			if o.From, err = parseRFC3339("--from", fromFlag); err != nil {
				return err
			}
			if o.To, err = parseRFC3339("--to", to); err != nil {
				return err
			}
			if o.To.IsZero() {
				o.To = d.now()
			}
			if since != 0 {
				o.From = o.To.Add(-since)
			}
			p, err := d.influxProvisioner(f)
			if err != nil {
				return err
			}
			rep, err := p.Backfill(cmd.Context(), o)
			if rep.Server.URL != "" && err == nil {
				if rerr := d.render(rep, func() output.Table { return backfillTable(rep) }); rerr != nil {
					return rerr
				}
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list the rollups and queries; write nothing")
	cmd.Flags().DurationVar(&since, "since", 0, "re-roll from this long ago until now (`DURATION`, e.g. 24h)")
	cmd.Flags().StringVar(&fromFlag, "from", "", "re-roll from this RFC 3339 `time`")
	cmd.Flags().StringVar(&to, "to", "", "until this RFC 3339 `time` (default now)")
	return cmd
}

func backfillTable(rep influx.BackfillReport) output.Table {
	t := output.Table{Header: []string{"ROLLUP", "FROM", "TO", "QUERIES", "POINTS WRITTEN"}}
	for _, s := range rep.Steps {
		written := fmt.Sprint(s.Written)
		if rep.DryRun {
			written = "-"
		}
		t.Rows = append(t.Rows, []string{s.Rollup, output.Time(s.From), output.Time(s.To), fmt.Sprint(s.Queries), written})
	}
	verb := "re-rolled"
	if rep.DryRun {
		verb = "would be re-rolled (dry run: nothing written)"
	}
	t.Notes = append(t.Notes, fmt.Sprintf("influx %s (%s %s), database %s: %d rollup(s) %s", rep.Server.URL, rep.Server.Dialect, rep.Server.Version, rep.Database, len(rep.Steps), verb))
	return t
}
