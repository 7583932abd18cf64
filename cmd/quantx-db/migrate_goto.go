package main

import (
	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/migrations"
)

func newMigrateGotoCmd(d *deps, f *migrateFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "goto VERSION",
		Short: "Migrate up or down to exactly VERSION (-1: revert everything)",
		Example: `  quantx-db migrate goto 5
  quantx-db migrate goto 3 --yes   # going down asks first`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := parseVersion(args[0])
			if err != nil {
				return err
			}
			return runReverting(cmd.Context(), d, f, migrations.Target{Version: &v})
		},
	}
	yesFlag(cmd, d)
	return cmd
}
