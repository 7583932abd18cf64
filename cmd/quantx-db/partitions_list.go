package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/partitions"
)

func newPartitionsListCmd(d *deps, f *maintenanceFlags) *cobra.Command {
	var exact bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every partition: table, bounds, rows and size",
		Long: `Lists every partition of every partitioned table: range months of activity_logs,
its DEFAULT partition, and the hash partitions of transactions. Rows are the
planner's estimate (pg_class.reltuples) unless --exact; DEFAULT partitions are
always counted exactly, and rows there are printed as a warning.`,
		Example: `  quantx-db partitions list
  quantx-db partitions list --exact -o json | jq '.partitions[] | select(.default)'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, pool, err := d.openPartitions(cmd.Context(), f)
			if err != nil {
				return err
			}
			defer pool.Close()
			l, err := m.List(cmd.Context(), partitions.ListOptions{Exact: exact})
			if err != nil {
				return err
			}
			if d.format == output.FormatJSON { // text shows them as notes under the table
				for _, w := range listWarnings(l) {
					d.logger.WarnContext(cmd.Context(), w)
				}
			}
			return d.render(l, func() output.Table { return listTable(l) })
		},
	}
	cmd.Flags().BoolVar(&exact, "exact", false, "count rows with count(*) instead of the planner's estimate")
	return cmd
}

func listTable(l partitions.List) output.Table {
	t := output.Table{Header: []string{"TABLE", "PARTITION", "BOUNDS", "ROWS", "SIZE"}}
	for _, p := range l.Partitions {
		rows := fmt.Sprint(p.Rows)
		if !p.RowsExact {
			rows = "~" + rows
		}
		t.Rows = append(t.Rows, []string{p.Table, p.Name, p.Bounds, rows, output.Bytes(p.SizeBytes)})
	}
	for _, w := range listWarnings(l) {
		t.Notes = append(t.Notes, "warning: "+w)
	}
	return t
}

// listWarnings are the list's warnings, with what to do about rows in a
// DEFAULT partition.
func listWarnings(l partitions.List) []string {
	out := l.Warnings
	for _, p := range l.Partitions {
		if p.Default && p.Rows > 0 {
			out = append(out, fmt.Sprintf("%s: %s", p.Name, hintDefaultRows))
			break
		}
	}
	return out
}
