package main

import (
	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/stack"
)

func newStatusCmd(d *deps) *cobra.Command {
	var exitCode bool
	var sf stackFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "One report across every store: migrations, partitions, InfluxDB, search, backups",
		Long: `status reads every configured store and changes nothing. A line in state
"action" needs someone (pending migrations, drift, rows in a DEFAULT
partition, a partition horizon too short, InfluxDB rollups missing points
that came later than the late tolerance: 'influx backfill' re-rolls them); "warn" is for information (no or
old backup, older than 26 hours). With --exit-code it exits 3 when anything
needs action, 1 when a store could not be read.

Backups are reported per database: the newest postgres backup of the database
of --database-url, the newest influx backup of --influx-database (default
quantx_db), so that another database's backup cannot hide a dead backup job.
When that database has none but others do, the line names them. Physical
backups are per cluster: the 'wal archiving' line names the newest of --stanza.`,
		Example: `  quantx-db status
  quantx-db status --exit-code -o json | jq '.items[] | select(.state != "ok")'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, closeStores, err := d.openStores(cmd.Context(), &sf)
			defer closeStores()
			if err != nil {
				return err
			}
			rep := stack.Status(cmd.Context(), s, stack.StatusOptions{Now: d.now, RetentionCheck: d.retentionCheck(s), WALCheck: d.walCheck(),
				BackupDatabases: d.backupDatabases(sf.influxDatabase)})
			d.metrics.status(rep)
			if err := d.render(rep, func() output.Table { return statusReportTable(rep) }); err != nil {
				return err
			}
			switch {
			case rep.Errors:
				return storeFailure("a store could not be read: ", rep.Err())
			case exitCode && rep.NeedsAction:
				return checkFailed("needs action: "+firstOf(rep, stack.StateAction), "")
			}
			return nil
		},
	}
	sf.add(cmd)
	cmd.Flags().BoolVar(&exitCode, "exit-code", false, "exit 3 when anything needs action")
	return cmd
}

func firstOf(rep stack.StatusReport, state string) string {
	for _, it := range rep.Items {
		if it.State == state {
			return it.Store + " " + it.Check + ": " + it.Detail
		}
	}
	return ""
}

func statusReportTable(rep stack.StatusReport) output.Table {
	t := output.Table{Header: []string{"STORE", "CHECK", "STATE", "DETAIL"}}
	for _, it := range rep.Items {
		t.Rows = append(t.Rows, []string{it.Store, it.Check, it.State, it.Detail})
	}
	t.Notes = []string{"checked at " + output.Time(rep.CheckedAt)}
	return t
}
