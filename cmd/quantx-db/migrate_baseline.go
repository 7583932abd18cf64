package main

import (
	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/migrations"
)

func newMigrateBaselineCmd(d *deps, f *migrateFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "baseline VERSION",
		Short: "Mark an existing database (schema made elsewhere) as being at VERSION",
		Example: `  quantx-db migrate baseline 7   # the schema of 0001..0007 already exists
  quantx-db migrate up           # applies 0008 onwards`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := parseVersion(args[0])
			if err != nil {
				return err
			}
			return d.withRunner(cmd.Context(), f, func(r *migrations.Runner) error {
				if err := r.Baseline(cmd.Context(), v); err != nil {
					return err
				}
				res := versionResult{Version: &v}
				return d.render(res, func() output.Table {
					return output.Table{Notes: []string{"baselined at version " + versionText(v)}}
				})
			})
		},
	}
}
