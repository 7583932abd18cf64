package main

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/internal/output"
)

func newBackupPhysicalCmd(d *deps) *cobra.Command {
	var o backup.PhysicalBackupOptions
	cmd := &cobra.Command{
		Use:   "physical [--type full|diff|incr] [--start-fast]",
		Short: "Take a pgBackRest backup of the cluster (the base of point-in-time restores)",
		Long: `Runs 'pgbackrest backup' with the configuration 'wal setup' wrote, as the data
directory's owner, on the database host. full copies the cluster; diff the
changes since the last full; incr the changes since the last backup of any
type (a diff or incr without a full becomes a full). The backup starts at the
next spread checkpoint (up to checkpoint_timeout x checkpoint_completion_target
away) unless --start-fast. The set is listed by
'backup list' (kind physical, with its WAL range) and pruned by 'backup prune'
with the same keep rules as the logical backups.

Encryption is a property of the repository, chosen once: 'wal setup
--repo-passphrase-file FILE'. Logical (backup postgres) or physical? See the
README: dumps for one database, portable across versions; physical + WAL for
the whole cluster restored to any second.`,
		Example: `  sudo -u postgres quantx-db backup physical --type full
  sudo -u postgres quantx-db backup physical --type incr -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !slices.Contains(backup.PhysicalTypes, o.Type) {
				return usagef("use --type full, diff or incr", "--type %q", o.Type)
			}
			p, cfg, err := d.physical("")
			if err != nil {
				return err
			}
			if err := backup.RefuseRoot(); err != nil {
				return within(scopePhysical, err)
			}
			if err := needPgBackRestConfig(cfg); err != nil {
				return err
			}
			if dir, err := p.DataDir(); err == nil {
				if err := backup.CheckOwner(dir); err != nil {
					return within(scopePhysical, err)
				}
			}
			m, err := p.Backup(cmd.Context(), o)
			if err != nil {
				return within(scopePhysical, err)
			}
			return d.render(m, func() output.Table { return physicalTable([]backup.Manifest{m}) })
		},
	}
	cmd.Flags().StringVar(&o.Type, "type", "full", "backup `type`: full, diff or incr")
	cmd.Flags().BoolVar(&o.StartFast, "start-fast", false, "checkpoint at once rather than waiting for the next spread checkpoint (an I/O burst on a busy server)")
	return cmd
}

func physicalTable(ms []backup.Manifest) output.Table {
	t := output.Table{Header: []string{"ID", "TYPE", "FINISHED", "STORED", "DATABASE SIZE", "WAL", "DURATION"}}
	for _, m := range ms {
		t.Rows = append(t.Rows, []string{m.ID, m.Physical.Type, output.Time(m.FinishedAt), output.Bytes(m.Size),
			output.Bytes(m.Physical.DatabaseSize), walRange(m), m.FinishedAt.Sub(m.StartedAt).String()})
	}
	if len(ms) == 1 && len(ms[0].Physical.Reference) > 0 {
		t.Notes = []string{"depends on " + strings.Join(ms[0].Physical.Reference, ", ")}
	}
	return t
}

// walRange is "000000010000000000000002-000000010000000000000003" for a physical backup, "-" otherwise.
func walRange(m backup.Manifest) string {
	if m.Physical == nil {
		return "-"
	}
	if m.Physical.WALStart == m.Physical.WALStop {
		return m.Physical.WALStart
	}
	return m.Physical.WALStart + "-" + m.Physical.WALStop
}
