package main

import (
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
match the servers, and the clock skew to PostgreSQL. Exits 3 when a check fails.`,
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
				// An unreachable store is a finding, not the end of the report.
				rep.Checks = append(rep.Checks, stack.Check{Store: "config", Name: "connect", Status: stack.Fail,
					Detail: err.Error(), Fix: "fix the setting it names; the other checks were not run"})
			}
			rep.Checks = append(rep.Checks, stack.Doctor(ctx, s, stack.DoctorOptions{
				Now: d.now, InfluxConfigured: cfg.InfluxURL != "", ElasticConfigured: cfg.ElasticURL != "",
				S3Configured: cfg.S3Bucket != "", PostgresConfigured: cfg.DatabaseURL != "", WALCheck: d.walDoctor(),
			})...)
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
