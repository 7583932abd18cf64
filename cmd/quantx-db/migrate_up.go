package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/migrations"
)

func newMigrateUpCmd(d *deps, f *migrateFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "up [N]",
		Short: "Apply all pending migrations, or the next N",
		Example: `  quantx-db migrate up
  quantx-db migrate up 1 -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := parseSteps(args)
			if err != nil {
				return err
			}
			return d.withRunner(cmd.Context(), f, func(r *migrations.Runner) error {
				rep, err := r.Up(cmd.Context(), n)
				return d.migrated(rep, err)
			})
		},
	}
}

// migrated records and prints the outcome of a run: up, down and goto.
func (d *deps) migrated(rep migrations.Report, err error) error {
	d.metrics.migrations(rep, err)
	if err != nil {
		return err
	}
	return d.render(rep, func() output.Table { return reportTable(rep) })
}

// reportTable is the text view of a run, shared by up, down and goto.
func reportTable(rep migrations.Report) output.Table {
	if len(rep.Applied) == 0 {
		return output.Table{Notes: []string{fmt.Sprintf("nothing to do: database at version %s", versionText(rep.ToVersion))}}
	}
	t := output.Table{Header: []string{"VERSION", "NAME", "DIRECTION", "MODE", "DURATION", "RETRIES"}}
	for _, a := range rep.Applied {
		dir := string(a.Direction)
		switch {
		case len(a.Rebuilt) > 0:
			dir = "rebuilt " + strings.Join(a.Rebuilt, ",")
		case a.Resumed:
			dir += fmt.Sprintf(" (resumed after statement %d)", a.ResumedAt)
		}
		t.Rows = append(t.Rows, []string{fmt.Sprint(a.Version), a.Name, dir, txMode(a.NoTransaction),
			fmt.Sprintf("%dms", a.DurationMS), fmt.Sprint(a.Retries)})
	}
	t.Notes = []string{fmt.Sprintf("migrated from version %s to %s", versionText(rep.FromVersion), versionText(rep.ToVersion))}
	if rep.FromVersion == rep.ToVersion {
		t.Notes = []string{"database at version " + versionText(rep.ToVersion)}
	}
	return t
}

func txMode(noTx bool) string {
	if noTx {
		return "no-transaction"
	}
	return "transaction"
}
