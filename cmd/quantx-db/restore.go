package main

import "github.com/spf13/cobra"

func newRestoreCmd(d *deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "restore",
		Short: "Restore a backup from the S3 bucket into PostgreSQL or InfluxDB",
		Long: `restore reads a backup listed by 'quantx-db backup list', checks the stored
object's size and SHA-256 on the way, and feeds it to pg_restore or influxd
restore. Without quantx-db, docs/backup.md restores with stock tools.

'restore pitr' restores the whole cluster to a point in time from the physical
backups and archived WAL (pgBackRest; see 'quantx-db wal --help').`,
		Example: `  quantx-db restore postgres 20261126T174500Z-postgres-quantx-k3j9x2 --target-database-url postgres://app@db2/quantx --verify
  quantx-db restore influx 20261126T174500Z-influx-quantx-x8w1p0 --new-database quantx_restored
  sudo -u postgres quantx-db restore pitr --pgdata /srv/pg-restored --target-time 2026-11-30T16:59:00Z --start --port 5433 --verify`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newRestorePostgresCmd(d), newRestoreInfluxCmd(d))
	cmd.AddCommand(newRestorePITRCmd(d))
	return cmd
}
