package main

import (
	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/internal/report"
)

func newBackupVerifyCmd(d *deps) *cobra.Command {
	var lf latestFlags
	cmd := &cobra.Command{
		Use:   "verify ID|latest",
		Short: "Re-read a backup's objects and check size and sha256 against its manifest (exit 3 on mismatch)",
		Long: `verify downloads every object of the backup and compares its size and SHA-256
with the manifest. It proves the bytes are intact; 'restore postgres --verify'
into a scratch database proves they restore. The outcome is recorded beside
the manifest (backups/<ID>/verification.json) and shown by 'backup info'.

ID latest is the newest backup of --kind (default postgres) and --database
(default: for postgres the database of --database-url, for influx quantx_db),
whatever its last verification said. No such backup exits 1, naming the
databases that do have backups.`,
		Example: `  quantx-db backup verify 20261126T174500Z-postgres-quantx-k3j9x2
  quantx-db backup verify latest
  quantx-db backup verify latest --kind influx --database quantx_db`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, err := lf.logicalKind()
			if err != nil {
				return err
			}
			cat, _, err := d.openCatalogue(cmd.Context(), nil)
			if err != nil {
				return err
			}
			id, err := d.backupID(cmd.Context(), cat, args[0], kind, &lf, false)
			if err != nil {
				return err
			}
			v, err := cat.Verify(cmd.Context(), id)
			if err != nil {
				return err
			}
			d.metrics.verify(v)
			if err := d.render(v, func() output.Table { return verifyTable(v) }); err != nil {
				return err
			}
			if !v.OK {
				return checkFailed("backup "+v.ID+" does not match its manifest", "do not rely on it: restore another backup, and take a new one")
			}
			return nil
		},
	}
	lf.add(cmd, true)
	return cmd
}

func verifyTable(v backup.VerifyResult) output.Table {
	t := output.Table{Header: []string{"ROLE", "KEY", "SIZE", "SHA256", "RESULT"}}
	for _, o := range v.Objects {
		res, sev := "ok", report.SeverityOK
		if !o.OK {
			res, sev = o.Problem, report.SeverityAction
		}
		t.Row(sev, o.Role, o.Key, output.Bytes(o.ActualSize), o.ActualSHA256, res)
	}
	return t
}
