package main

import (
	"strconv"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/internal/output"
)

// backupList is the result of 'backup list'.
type backupList struct {
	Backups []backup.Manifest `json:"backups"`
}

func newBackupListCmd(d *deps) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List backups that have a manifest, newest first",
		Example: `  quantx-db backup list
  quantx-db backup list -o json | jq -r '.backups[0].id'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cat, _, err := d.openCatalogue(cmd.Context(), nil)
			if err != nil {
				return err
			}
			ms, err := cat.List(cmd.Context())
			if err != nil {
				return explainBackup(err)
			}
			d.metrics.backups(ms...)
			res := backupList{Backups: ms}
			return d.render(res, func() output.Table {
				t := output.Table{Header: []string{"ID", "KIND", "DATABASE", "FINISHED", "SIZE", "ENCRYPTION"}}
				for _, m := range ms {
					t.Rows = append(t.Rows, []string{m.ID, string(m.Kind), m.Database, output.Time(m.FinishedAt), output.Bytes(m.Size), m.Encryption})
				}
				if len(ms) == 0 {
					t.Notes = []string{"no backups"}
				}
				return t
			})
		},
	}
}

func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }
