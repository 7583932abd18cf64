package main

import (
	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/internal/report"
	"github.com/quantx/quantx-db/stack"
)

func newStatusCmd(d *deps) *cobra.Command {
	var (
		sc statusCheck
		sf stackFlags
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "One report across every store: migrations, partitions, InfluxDB, search, backups",
		Long: `status reads every configured store and changes nothing. A line in state
"action" needs someone (pending migrations, drift, rows in a DEFAULT
partition, a partition horizon too short, InfluxDB rollups missing points
that came later than the late tolerance: 'influx backfill' re-rolls them); "warn" is for information (no or
old backup, older than 26 hours); "error" is a store that could not be read
(the others are still reported). The FIX column (the "fix" key in JSON)
names the command that clears a line. The JSON document has the same shape
as doctor's (see the README).

Backups are reported per database: the newest postgres backup of the database
of --database-url, the newest influx backup of --influx-database (default
quantx_db), so that another database's backup cannot hide a dead backup job.
When that database has none but others do, the line names them. Physical
backups are per cluster: the 'wal archiving' line names the newest of --stanza.`,
		Example: `  quantx-db status
  quantx-db status -o json | jq '.items[] | select(.state != "ok")'
  quantx-db status --exit-code=false -o json > /var/www/status.json   # a dashboard: always exit 0`,
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
			return d.statusReport(sc, rep.CheckedAt, rep.findings(), rep, rep.table)
		},
	}
	sf.add(cmd)
	sc.add(cmd)
	return cmd
}

// findings is the worst line of a status or doctor report and what explains
// it: every store that could not be read, or the first line that needs action.
func (r stackReport) findings() findings {
	f := findings{worst: report.SeverityOK, action: r.NeedsAction}
	for _, it := range r.Items {
		f.worst = max(f.worst, it.State.Severity())
	}
	switch {
	case f.worst >= report.SeverityError:
		f.problem = storeFailure("a store could not be read: ", r.Err())
	case f.worst == report.SeverityAction:
		it := r.first(report.SeverityAction)
		f.problem = checkFailed("needs action: "+it.Store+" "+it.Name+": "+it.Detail, it.Fix)
	}
	return f
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
