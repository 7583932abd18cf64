package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/migrations"
)

func newMigratePlanCmd(d *deps, f *migrateFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "plan [N]",
		Short: "Print the SQL that 'migrate up' would run; change nothing",
		Example: `  quantx-db migrate plan
  quantx-db migrate plan -o json | jq '.steps[].file'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := parseSteps(args)
			if err != nil {
				return err
			}
			return d.withRunner(cmd.Context(), f, func(r *migrations.Runner) error {
				p, err := r.PlanFor(cmd.Context(), migrations.Target{Direction: migrations.Up, Steps: n})
				if err != nil {
					return err
				}
				return d.render(p, func() output.Table { return planSQL(p) })
			})
		},
	}
}

// planSQL prints each file's SQL under a header naming it and its mode. The
// SQL is the user's own file, printed as is (not through Clean).
func planSQL(p migrations.Plan) output.Table {
	if len(p.Steps) == 0 {
		return output.Table{Notes: []string{fmt.Sprintf("-- nothing to do: database at version %s", versionText(p.FromVersion))}}
	}
	var b strings.Builder
	for _, s := range p.Steps {
		note := ""
		switch {
		case len(s.Rebuild) > 0:
			note = ", rebuilds INVALID " + strings.Join(s.Rebuild, ", ")
		case s.Resumes:
			note = fmt.Sprintf(", resumes the interrupted run after statement %d", s.ResumeAt)
		}
		fmt.Fprintf(&b, "-- %s (%s, %s, sha256 %s%s)\n%s\n\n", s.File, s.Direction, txMode(s.NoTransaction), s.Checksum[:12], note, strings.TrimRight(s.SQL, "\n"))
	}
	fmt.Fprintf(&b, "-- version %s -> %s", versionText(p.FromVersion), versionText(p.ToVersion))
	return output.Table{Raw: b.String()}
}

// planTable is the short view of a plan, used when asking before a revert.
func planTable(p migrations.Plan) output.Table {
	t := output.Table{Header: []string{"VERSION", "NAME", "DIRECTION", "FILE", "MODE"}}
	for _, s := range p.Steps {
		t.Rows = append(t.Rows, []string{fmt.Sprint(s.Version), s.Name, string(s.Direction), s.File, txMode(s.NoTransaction)})
	}
	t.Notes = []string{fmt.Sprintf("plan: version %s -> %s", versionText(p.FromVersion), versionText(p.ToVersion))}
	return t
}
