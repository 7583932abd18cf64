package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/migrations"
)

func newMigrateForceCmd(d *deps, f *migrateFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "force VERSION",
		Short: "Set the version and clear the dirty flag without running anything",
		Long: `force sets the version by hand. It runs no SQL of the migrations; the history
records it. 'migrate up' resumes an interrupted or failed no-transaction file
by itself, so force is needed only when it cannot (the file's finished
statements were changed since, or the database was left dirty by another
tool): check which statements ran, then finish them and force that version,
or undo them and force the previous one. 'migrate status' names both.`,
		Example: "  quantx-db migrate force 8",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := parseVersion(args[0])
			if err != nil {
				return err
			}
			return d.withRunner(cmd.Context(), f, func(r *migrations.Runner) error {
				if err := r.Force(cmd.Context(), v); err != nil {
					return err
				}
				res := versionResult{Dirty: false}
				if v >= 0 {
					res.Version = &v
				}
				return d.render(res, func() output.Table {
					return output.Table{Notes: []string{fmt.Sprintf("version forced to %s, not dirty", versionText(v))}}
				})
			})
		},
	}
}
