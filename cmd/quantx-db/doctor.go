package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/stack"
)

type doctorReport struct {
	Checks   []stack.Check `json:"checks"`
	Problems int           `json:"problems"`
}

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
$QUANTX_CACHE/bin). Exits 3 when a check fails.`,
		Example: "  quantx-db doctor\n  quantx-db doctor -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, err := d.config()
			if err != nil {
				return err
			}
			rep := doctorReport{Checks: []stack.Check{}}
			s, closeStores, err := d.openStores(ctx, &sf)
			defer closeStores()
			if err != nil {
				return err // a bad setting: exit 2 before anything is checked
			}
			rep.Checks = append(rep.Checks, unavailableChecks(s)...)
			do := stack.DoctorOptions{
				Now: d.now, InfluxConfigured: cfg.InfluxURL != "", ElasticConfigured: cfg.ElasticURL != "",
				S3Configured: cfg.S3Bucket != "", PostgresConfigured: cfg.DatabaseURL != "", WALCheck: d.walDoctor(),
			}
			if cfg.InfluxURL != "" {
				// What 'backup influx' would use, found the same way (checked when the server is 1.x).
				do.Influxd = d.findTool("influxd")
				do.InfluxRPC, _ = d.influxRPC("", cfg.InfluxURL.Reveal())
				if do.InfluxRPCTimeout, err = d.influxRPCTimeout(""); err != nil {
					return err
				}
			}
			rep.Checks = append(rep.Checks, stack.Doctor(ctx, s, do)...)
			for _, c := range rep.Checks {
				if c.Status == stack.Fail {
					rep.Problems++
				}
			}
			if err := d.render(rep, func() output.Table {
				t := output.Table{Header: []string{"STORE", "CHECK", "STATUS", "DETAIL", "FIX"}}
				for _, c := range rep.Checks {
					t.Rows = append(t.Rows, []string{c.Store, c.Name, c.Status, c.Detail, c.Fix})
				}
				return t
			}); err != nil {
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

// unavailableChecks reports each configured store that could not be opened
// as a failed connect check, with the hint of its error as the fix: an
// unreachable store is a finding, not the end of the report.
func unavailableChecks(s stack.Stores) []stack.Check {
	var out []stack.Check
	for _, store := range []string{stack.Postgres, stack.Influx, stack.Elastic, stack.S3} {
		err := s.Unavailable[store]
		if err == nil {
			continue
		}
		ue := classify(context.Background(), err)
		out = append(out, stack.Check{Store: store, Name: "connect", Status: stack.Fail, Detail: oneLine(ue.msg), Fix: ue.hint})
	}
	return out
}
