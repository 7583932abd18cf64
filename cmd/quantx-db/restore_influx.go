package main

import (
	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/internal/output"
)

func newRestoreInfluxCmd(d *deps) *cobra.Command {
	var (
		o                      backup.InfluxRestore
		rpc, influxd, identity string
	)
	cmd := &cobra.Command{
		Use:   "influx ID [--new-database NAME]",
		Short: "Restore an InfluxDB backup with influxd restore -portable",
		Long: `influxd restore cannot restore onto an existing database: without
--new-database the backup's own database name must be free (a fresh server).
After the restore, queries can fail for a moment with "shard is disabled";
restore waits until the new database answers.`,
		Example: `  quantx-db restore influx 20261126T174500Z-influx-quantx-x8w1p0 --new-database quantx_restored`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cfg, err := d.config()
			if err != nil {
				return err
			}
			o.URL, o.Token = cfg.InfluxURL.Reveal(), cfg.InfluxToken.Reveal()
			if o.RPC, err = d.influxRPC(rpc, o.URL); err != nil {
				return err
			}
			if o.Influxd = influxd; o.Influxd == "" {
				if o.Influxd = d.findTool("influxd"); o.Influxd == "" {
					return usagef("install influxd on PATH, or pass --influxd", "influxd not found")
				}
			}
			if identity != "" {
				if o.Identities, err = backup.ReadIdentities(identity); err != nil {
					return usageErr(err, "--identity is an age identity file")
				}
			}
			cat, _, err := d.openCatalogue(ctx, nil)
			if err != nil {
				return err
			}
			res, err := cat.RestoreInflux(ctx, args[0], o)
			if err != nil {
				return explainBackup(err)
			}
			return d.render(res, func() output.Table { return restoreTable(res) })
		},
	}
	cmd.Flags().StringVar(&o.NewDatabase, "new-database", "", "restore as this database `NAME` (must not exist)")
	cmd.Flags().StringVar(&rpc, "influx-rpc", "", "influxd `HOST:PORT` (default: QUANTX_INFLUX_RPC, else --influx-url's host:8088)")
	cmd.Flags().StringVar(&influxd, "influxd", "", "influxd binary `PATH`")
	cmd.Flags().StringVar(&identity, "identity", "", "age identity `FILE` for encrypted backups")
	return cmd
}
