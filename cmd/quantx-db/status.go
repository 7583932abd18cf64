package main

import (
	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/internal/report"
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
old backup, older than 26 hours). The FIX column (the "fix" key in JSON)
names the command that clears a line. With --exit-code it exits 3 when
anything needs action, 1 when a store could not be read. The JSON document
has the same shape as doctor's (see the README).

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
			rep := withFixes(stack.Status(cmd.Context(), s, stack.StatusOptions{Now: d.now, Logger: d.logger,
				BackupDatabases: d.backupDatabases(sf.influxDatabase)}))
			d.metrics.status(rep.Report)
			if err := d.render(rep, rep.table); err != nil {
				return err
			}
			switch {
			case rep.Errors:
				return storeFailure("a store could not be read: ", rep.Err())
			case exitCode && rep.NeedsAction:
				it := rep.first(report.SeverityAction)
				return checkFailed("needs action: "+it.Store+" "+it.Name+": "+it.Detail, it.Fix)
			}
			return nil
		},
	}
	sf.add(cmd)
	cmd.Flags().BoolVar(&exitCode, "exit-code", false, "exit 3 when anything needs action")
	return cmd
}

// stackReport is what status and doctor print: the library's report, each
// item with the step that clears it. Both commands have this one shape.
type stackReport struct {
	stack.Report
	Items []stackItem `json:"items"`
}

// stackItem is a report line and its fix (hints.go).
type stackItem struct {
	stack.Item
	Fix string `json:"fix,omitempty"`
}

// withFixes adds the fix of every line.
func withFixes(r stack.Report) stackReport {
	out := stackReport{Report: r, Items: make([]stackItem, 0, len(r.Items))}
	for _, it := range r.Items {
		out.Items = append(out.Items, stackItem{Item: it, Fix: fix(it)})
	}
	return out
}

// first returns the first line of a severity (a zero item when none).
func (r stackReport) first(sev report.Severity) stackItem {
	for _, it := range r.Items {
		if it.State.Severity() == sev {
			return it
		}
	}
	return stackItem{}
}

func (r stackReport) table() output.Table {
	t := output.Table{Header: []string{"STORE", "CHECK", "STATE", "DETAIL", "FIX"}}
	for _, it := range r.Items {
		t.Row(it.State.Severity(), it.Store, it.Name, string(it.State), it.Detail, it.Fix)
	}
	t.Notes = []string{"checked at " + output.Time(r.CheckedAt)}
	return t
}
