package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/migrations"
)

func newMigrateValidateCmd(d *deps, f *migrateFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check that applied migration files are unchanged (exit 3 on drift)",
		Long: `validate compares the sha256 of every applied migration file in this binary
with the checksum recorded when it was applied. Versions applied before
quantx-db kept history (baseline, plain golang-migrate) are listed as unverified.
It also reports a dirty database, a version this binary does not ship and
every INVALID index (exit 3 for any of them).`,
		Example: "  quantx-db migrate validate -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return d.withRunner(cmd.Context(), f, func(r *migrations.Runner) error {
				val, err := r.Validate(cmd.Context())
				if err != nil {
					return err
				}
				if err := d.render(val, func() output.Table { return validationTable(val) }); err != nil {
					return err
				}
				if n := len(val.Findings); n > 0 {
					return checkFailed(fmt.Sprintf("%d problem(s): %s", n, val.Findings[0].Message), validateHint(cmd.Context(), r, val.Findings[0]))
				}
				return nil
			})
		},
	}
}

func validationTable(val migrations.Validation) output.Table {
	t := output.Table{Header: []string{"VERSION", "FILE", "PROBLEM"}}
	for _, fd := range val.Findings {
		t.Rows = append(t.Rows, []string{fmt.Sprint(fd.Version), orDash(fd.File), fd.Message})
	}
	if len(val.Findings) == 0 {
		t.Header = nil
	}
	t.Notes = []string{fmt.Sprintf("%d applied file(s) checked, %d unverified, %d problem(s)",
		val.Checked, len(val.Unverified), len(val.Findings))}
	return t
}

// validateHint names the command that fixes the first finding.
func validateHint(ctx context.Context, r *migrations.Runner, f migrations.Finding) string {
	switch f.Kind {
	case "missing_file":
		return "use the quantx-db release that migrated this database"
	case "dirty", "invalid_index":
		st, err := r.Status(ctx)
		if err != nil {
			return "see 'quantx-db migrate status'"
		}
		p := st.IndexProblem()
		if f.Kind == "dirty" {
			p = st.Problem()
		}
		if p != nil {
			return problemFix(p)
		}
		return "see 'quantx-db migrate status'"
	}
	return "never edit an applied migration: restore the file and add a new migration for the change"
}
