package main

import "github.com/spf13/cobra"

// influxFlags are the flags every influx verb shares.
type influxFlags struct {
	file          string // desired-state YAML replacing the built-in one
	database      string // overrides the desired state's database name
	lateTolerance string // overrides the desired state's late_tolerance
}

func newInfluxCmd(d *deps) *cobra.Command {
	var f influxFlags
	cmd := &cobra.Command{
		Use:   "influx",
		Short: "Provision InfluxDB: database or buckets, retention tiers and rollups",
		Long: `Provision InfluxDB 1.x (database, retention policies, continuous queries) or
2.x (buckets, DBRP mappings, Flux tasks) from a desired state built into
quantx-db (or --file). The server's version picks the dialect.

The rollups fill the hourly and daily tiers exactly: each rolled-up field
carries <field>_count and, for a mean, <field>_sum, so a daily mean is the
mean of the day's raw points. A point written up to --late-tolerance after
its own timestamp (default 2h, QUANTX_INFLUX_LATE_TOLERANCE, or late_tolerance
in --file) is rolled up by the schedule; later points need 'influx backfill'.`,
		Example: `  quantx-db influx setup --dry-run
  quantx-db influx setup --backfill-from 2026-01-01T00:00:00Z
  quantx-db influx status -o json
  quantx-db influx backfill --since 24h      # from cron: re-roll what came too late
  quantx-db influx schema`,
		Args: cobra.NoArgs,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.file, "file", "", "desired-state YAML `file` (default: the built-in one; see 'influx schema -o json')")
	pf.StringVar(&f.database, "database", "", "database `name` instead of the desired state's (quantx_db)")
	pf.StringVar(&f.lateTolerance, "late-tolerance", "", "how long after its timestamp a point may be written and still be rolled up by the schedule (`DURATION` such as 90m, 2h, 1d; default: QUANTX_INFLUX_LATE_TOLERANCE, else the desired state's, 2h)")
	cmd.AddCommand(newInfluxSetupCmd(d, &f), newInfluxStatusCmd(d, &f), newInfluxSchemaCmd(d, &f), newInfluxBackfillCmd(d, &f))
	return cmd
}
