package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/migrations"
)

func newMigrateStatusCmd(d *deps, f *migrateFlags) *cobra.Command {
	var exitCode bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "List applied and pending migrations",
		Example: `  quantx-db migrate status
  quantx-db migrate status --exit-code || echo "migrations pending"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, pool, err := d.openRunner(cmd.Context(), f)
			if err != nil {
				return err
			}
			defer pool.Close()
			st, err := r.Status(cmd.Context())
			if err != nil {
				return err
			}
			d.metrics.migrationStatus(st)
			if err := d.render(st, func() output.Table { return statusTable(st) }); err != nil {
				return err
			}
			if exitCode {
				if msg := statusProblem(st); msg != "" {
					return checkFailed(msg, "run 'quantx-db migrate up'")
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&exitCode, "exit-code", false, "exit 3 when migrations are pending, drifted or the database is dirty")
	return cmd
}

// statusProblem summarises what needs action, or "" when nothing does.
func statusProblem(st migrations.Status) string {
	drift := 0
	for _, m := range st.Migrations {
		if m.Drift {
			drift++
		}
	}
	switch {
	case st.Dirty:
		return "database is dirty"
	case drift > 0:
		return fmt.Sprintf("%d applied migration(s) changed since they were applied", drift)
	case st.Pending > 0:
		return fmt.Sprintf("%d migration(s) pending", st.Pending)
	}
	return ""
}

func statusTable(st migrations.Status) output.Table {
	t := output.Table{Header: []string{"VERSION", "NAME", "STATE", "APPLIED_AT", "DURATION", "MODE"}}
	for _, m := range st.Migrations {
		state := "pending"
		if m.Applied {
			state = "applied"
		}
		if m.Drift {
			state = "applied (file changed)"
		}
		applied, dur := "-", "-"
		if m.AppliedAt != nil {
			applied, dur = output.Time(*m.AppliedAt), fmt.Sprintf("%dms", m.DurationMS)
		}
		t.Rows = append(t.Rows, []string{fmt.Sprint(m.Version), m.Name, state, applied, dur, txMode(m.NoTransaction)})
	}
	cur := "none"
	if st.CurrentVersion != nil {
		cur = fmt.Sprint(*st.CurrentVersion)
	}
	note := fmt.Sprintf("version %s, %d pending", cur, st.Pending)
	if st.Dirty {
		note += ", DIRTY"
	}
	t.Notes = []string{note}
	return t
}
