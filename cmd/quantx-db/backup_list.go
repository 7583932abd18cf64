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
	// PhysicalError is why physical backups could not be listed (they are then missing from Backups,
	// and the command exits 1).
	PhysicalError string `json:"physical_error,omitempty"`
}

func newBackupListCmd(d *deps) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List backups that have a manifest, and physical backups, newest first",
		Long: `Lists the logical backups (those with a manifest.json) and, when the pgBackRest
configuration of 'wal setup' exists here (--pgbackrest-config), the physical
backup sets of --stanza: kind physical, with the WAL range each one needs.
Reading the physical sets needs that file, readable by the data directory's
owner only; if they cannot be read, the logical ones are listed and the
command exits 1.`,
		Example: `  quantx-db backup list
  quantx-db backup list -o json | jq -r '.backups[0].id'
  quantx-db backup list -o json | jq '.backups[] | select(.kind == "physical") | .physical'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cat, _, err := d.openCatalogue(cmd.Context(), nil)
			if err != nil {
				return err
			}
			ms, err := cat.List(cmd.Context())
			if err != nil {
				return err
			}
			d.metrics.backups(ms...)
			res := backupList{Backups: ms}
			var physErr error
			if p, cfg, err := d.physical(""); err == nil && physicalConfigured(cfg) {
				phys, err := p.List(cmd.Context())
				if err != nil {
					physErr = within(scopePhysical, err)
					res.PhysicalError = err.Error()
				}
				res.Backups = append(res.Backups, phys...)
				backup.SortNewestFirst(res.Backups)
			}
			if err := d.render(res, func() output.Table {
				t := output.Table{Header: []string{"ID", "KIND", "DATABASE", "FINISHED", "SIZE", "ENCRYPTION", "WAL"}}
				for _, m := range res.Backups {
					kind := string(m.Kind)
					if m.Physical != nil {
						kind += " " + m.Physical.Type
					}
					t.Rows = append(t.Rows, []string{m.ID, kind, m.Database, output.Time(m.FinishedAt), output.Bytes(m.Size), m.Encryption, walRange(m)})
				}
				if len(res.Backups) == 0 {
					t.Notes = []string{"no backups"}
				}
				if res.PhysicalError != "" {
					t.Notes = append(t.Notes, "physical backups not listed: "+res.PhysicalError)
				}
				return t
			}); err != nil {
				return err
			}
			return physErr
		},
	}
}

func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }
