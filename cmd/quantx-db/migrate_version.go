package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/migrations"
)

// versionResult is the result of migrate version and migrate force.
type versionResult struct {
	Version *int64 `json:"version"` // null: no migration applied
	Dirty   bool   `json:"dirty"`
}

func newMigrateVersionCmd(d *deps, f *migrateFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the database's current migration version",
		Example: "  quantx-db migrate version -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return d.withRunner(cmd.Context(), f, func(r *migrations.Runner) error {
				st, err := r.Status(cmd.Context())
				if err != nil {
					return err
				}
				res := versionResult{Version: st.CurrentVersion, Dirty: st.Dirty}
				return d.render(res, func() output.Table {
					v := "none"
					if res.Version != nil {
						v = fmt.Sprint(*res.Version)
					}
					if res.Dirty {
						v += " (dirty)"
					}
					return output.Table{Notes: []string{v}}
				})
			})
		},
	}
}
