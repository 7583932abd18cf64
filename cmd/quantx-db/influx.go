package main

import "github.com/spf13/cobra"

// influxFlags are the flags every influx verb shares.
type influxFlags struct {
	file     string // desired-state YAML replacing the built-in one
	database string // overrides the desired state's database name
}

func newInfluxCmd(d *deps) *cobra.Command {
	var f influxFlags
	cmd := &cobra.Command{
		Use:   "influx",
		Short: "Provision InfluxDB: database or buckets, retention tiers and rollups",
		Long: `Provision InfluxDB 1.x (database, retention policies, continuous queries) or
2.x (buckets, DBRP mappings, Flux tasks) from a desired state built into
quantx-db (or --file). The server's version picks the dialect.`,
		Example: `  quantx-db influx setup --dry-run
  quantx-db influx setup --backfill-from 2026-01-01T00:00:00Z
  quantx-db influx status -o json
  quantx-db influx schema`,
		Args: cobra.NoArgs,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.file, "file", "", "desired-state YAML `file` (default: the built-in one; see 'influx schema -o json')")
	pf.StringVar(&f.database, "database", "", "database `name` instead of the desired state's (quantx_db)")
	cmd.AddCommand(newInfluxSetupCmd(d, &f), newInfluxStatusCmd(d, &f), newInfluxSchemaCmd(d, &f))
	return cmd
}
