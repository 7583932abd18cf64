package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/stack"
)

func newDoctorCmd(d *deps) *cobra.Command {
	var sf stackFlags
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check connectivity, versions, privileges and tools, with a fix for each problem",
		Long: `doctor connects to each configured store and reports its version, whether the
PostgreSQL role can do what migrations need (CREATE on the schema, advisory
locks), whether pg_dump, pg_restore and influxd are on PATH with versions that
match the servers, and the clock skew to PostgreSQL. With InfluxDB 1.x it also
checks the backup/restore address (QUANTX_INFLUX_RPC, else --influx-url's
host:8088) and finds influxd where 'backup influx' does (PATH, then
$QUANTX_CACHE/bin). A store that cannot be reached is a connect check in
state error. Exits 3 when a check is in state action or error. The JSON
document has the same shape as status's (see the README).`,
		Example: "  quantx-db doctor\n  quantx-db doctor -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, err := d.config()
			if err != nil {
				return err
			}
			s, closeStores, err := d.openStores(ctx, &sf)
			defer closeStores()
			if err != nil {
				return err // a bad setting: exit 2 before anything is checked
			}
			do := stack.DoctorOptions{
				Now: d.now, InfluxConfigured: cfg.InfluxURL != "", ElasticConfigured: cfg.ElasticURL != "",
				S3Configured: cfg.S3Bucket != "", PostgresConfigured: cfg.DatabaseURL != "",
			}
			if cfg.InfluxURL != "" {
				// What 'backup influx' would use, found the same way (checked when the server is 1.x).
				do.Influxd = d.findTool("influxd")
				do.InfluxRPC, _ = d.influxRPC("", cfg.InfluxURL.Reveal())
				if do.InfluxRPCTimeout, err = d.influxRPCTimeout(""); err != nil {
					return err
				}
			}
			rep := withFixes(stack.Doctor(ctx, s, do))
			// The same document as status's (the verdict's keys first); doctor is a
			// check, not a status verb: any problem exits 3.
			if err := d.render(verdictDoc{verdict: newVerdict(rep.CheckedAt, rep.findings()), report: rep}, rep.table); err != nil {
				return err
			}
			if rep.Problems > 0 {
				return checkFailed(fmt.Sprintf("%d problem(s) found", rep.Problems), "apply the FIX column")
			}
			return nil
		},
	}
	sf.add(cmd)
	return cmd
}
