package main

import (
	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/migrations"
)

type createResult struct {
	Up   string `json:"up"`
	Down string `json:"down"`
}

func newMigrateCreateCmd(d *deps) *cobra.Command {
	var noTx bool
	var dir string
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create the next pair of empty migration files",
		Example: `  quantx-db migrate create add_orders_note
  quantx-db migrate create index_orders_symbol --no-transaction`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			up, down, err := migrations.Create(dir, args[0], noTx)
			if err != nil {
				return usageErr(err, "run it from the repository root, or pass --dir")
			}
			res := createResult{Up: up, Down: down}
			return d.render(res, func() output.Table {
				return output.Table{Notes: []string{"created " + up, "created " + down}}
			})
		},
	}
	cmd.Flags().BoolVar(&noTx, "no-transaction", false, "mark the file to run outside a transaction (CREATE INDEX CONCURRENTLY)")
	cmd.Flags().StringVar(&dir, "dir", "migrations/sql", "folder of the migration files")
	return cmd
}
