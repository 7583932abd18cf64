package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/influx"
	"github.com/quantx/quantx-db/internal/output"
)

func newInfluxSetupCmd(d *deps, f *influxFlags) *cobra.Command {
	var dryRun bool
	var from, to string
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Create or repair the InfluxDB database, retention tiers and rollups (never drops data)",
		Long: `Create what is missing and alter what drifted, so that InfluxDB matches the
desired state. Idempotent: a second run changes nothing. Nothing is ever
dropped: unknown retention policies, buckets and rollups are reported only.

--backfill-from runs every rollup once over history (continuous queries and
tasks only cover new intervals), in windows of 24 rollup intervals, raw to
hourly first, then hourly to daily.`,
		Example: `  quantx-db influx setup --dry-run
  quantx-db influx setup
  quantx-db influx setup --backfill-from 2026-11-01T00:00:00Z --backfill-to 2026-11-08T00:00:00Z`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var o influx.SetupOptions
			o.DryRun = dryRun
			var err error
			if o.BackfillFrom, err = parseRFC3339("--backfill-from", from); err != nil {
				return err
			}
			if o.BackfillTo, err = parseRFC3339("--backfill-to", to); err != nil {
				return err
			}
			if to != "" && from == "" {
				return usagef("add --backfill-from", "--backfill-to needs --backfill-from")
			}
			if from != "" && to == "" {
				o.BackfillTo = d.now()
			}
			p, err := d.influxProvisioner(f)
			if err != nil {
				return err
			}
			rep, err := p.Setup(cmd.Context(), o)
			if rep.Server.URL != "" {
				if rerr := d.render(rep, func() output.Table { return setupTable(rep) }); rerr != nil {
					return rerr
				}
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan (statements or API calls); change nothing")
	cmd.Flags().StringVar(&from, "backfill-from", "", "run every rollup over history from this RFC 3339 `time`")
	cmd.Flags().StringVar(&to, "backfill-to", "", "end of the backfill, RFC 3339 `time` (default now)")
	return cmd
}

func parseRFC3339(flag, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, usagef("for example 2026-11-01T00:00:00Z", "%s %q is not an RFC 3339 time", flag, v)
	}
	return t, nil
}

func setupTable(rep influx.Report) output.Table {
	t := output.Table{Header: []string{"ACTION", "OBJECT", "DETAIL"}}
	for _, a := range rep.Actions {
		t.Rows = append(t.Rows, []string{a.Kind, a.Object, actionDetail(a)})
	}
	verb := "applied"
	if rep.DryRun {
		verb = "planned (dry run: nothing changed)"
	}
	if len(rep.Actions) == 0 {
		t.Header = nil
		t.Notes = append(t.Notes, fmt.Sprintf("influx %s (%s %s): database %s is in sync; nothing to do", rep.Server.URL, rep.Server.Dialect, rep.Server.Version, rep.Database))
	} else {
		t.Notes = append(t.Notes, fmt.Sprintf("%d action(s) %s on %s (%s %s), database %s", len(rep.Actions), verb, rep.Server.URL, rep.Server.Dialect, rep.Server.Version, rep.Database))
	}
	for _, b := range rep.Backfill {
		t.Notes = append(t.Notes, fmt.Sprintf("backfill %s: %s to %s, %d queries, %d points written", b.Rollup, output.Time(b.From), output.Time(b.To), b.Queries, b.Written))
	}
	for _, e := range rep.Extras {
		t.Notes = append(t.Notes, fmt.Sprintf("note: %s %s: %s", e.Kind, e.Name, e.Note))
	}
	return t
}

// actionDetail is the statement(s) or API call of an action, on one line.
func actionDetail(a influx.Action) string {
	if a.Call != nil {
		return a.Call.Method + " " + a.Call.Path
	}
	return strings.Join(a.Statements, "; ")
}
