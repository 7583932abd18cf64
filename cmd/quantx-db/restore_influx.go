package main

import (
	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/backup"
)

func newRestoreInfluxCmd(d *deps) *cobra.Command {
	var (
		o                                  backup.InfluxRestore
		rpc, rpcTimeout, influxd, identity string
		lf                                 latestFlags
	)
	cmd := &cobra.Command{
		Use:   "influx ID|latest [--new-database NAME]",
		Short: "Restore an InfluxDB backup (1.x: influxd restore -portable; 2.x: the restore API)",
		Long: `Neither version restores onto existing data: without --new-database the
backup's own database (1.x) or buckets (2.x) must not exist. A 2.x backup is
restored through the HTTP restore API with an operator --influx-token, each
bucket DATABASE/<tier> as NEW/<tier>, into --influx-org (default: the
organization recorded in the backup); every name is checked before the first
change. influxd restore (1.x) exits before the server has loaded the last
shards; restore waits until the server has loaded every shard of the backup
and every retention policy answers (at most 5 minutes), else it exits 1
naming the shards still loading. Restore into a server no one writes to, one
restore at a time: InfluxDB imports the restored metadata without a lock, and a
shard group created by a write in that moment can be lost (docs/backup.md).

ID latest is the newest backup of --database (default quantx_db) whose last
recorded verification did not fail. No such backup exits 1.`,
		Example: `  quantx-db restore influx 20261126T174500Z-influx-quantx_db-x8w1p0 --new-database quantx_restored
  quantx-db restore influx latest --new-database quantx_restored`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var err error
			if o.InfluxServer, err = d.influxServer(rpc, rpcTimeout, influxd); err != nil {
				return err
			}
			if o.Identities, err = identities(identity); err != nil {
				return err
			}
			cat, _, err := d.openCatalogue(ctx, nil)
			if err != nil {
				return err
			}
			id, err := d.backupID(ctx, cat, args[0], backup.KindInflux, &lf, true)
			if err != nil {
				return err
			}
			res, err := cat.RestoreInflux(ctx, id, o)
			if err != nil {
				return err
			}
			return d.restored(res)
		},
	}
	cmd.Flags().StringVar(&o.NewDatabase, "new-database", "", "restore as this database `NAME` (must not exist)")
	addInfluxRPCFlags(cmd, &rpc, &rpcTimeout)
	cmd.Flags().StringVar(&influxd, "influxd", "", "influxd binary `PATH`")
	identityFlag(cmd, &identity)
	lf.add(cmd, false)
	return cmd
}
