package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/internal/report"
	"github.com/quantx/quantx-db/migrations"
)

func newMigrateStatusCmd(d *deps, f *migrateFlags) *cobra.Command {
	var sc statusCheck
	cmd := &cobra.Command{
		Use:   "status",
		Short: "List applied and pending migrations",
		Long: `status reads the version, the history and the catalog; it changes nothing and
works on a read-only standby. Each migration is applied, pending, dirty (a
no-transaction run of it stopped part way: never shown as applied), running
(dirty while another session holds the migration lock), invalid_index
(applied, but an index its file creates is INVALID) or unknown_applied
(applied by a release newer than this binary). INVALID indexes anywhere in
the database are listed too; any of them, a pending, drifted, dirty or
running migration, or a version newer than this binary needs action.`,
		Example: `  quantx-db migrate status || echo "migrations need attention"
  quantx-db migrate status --exit-code=false     # the report only; exit 0
  quantx-db migrate status -o json | jq '.migrations[] | select(.state != "applied")'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			var st migrations.Status
			err := d.withRunner(ctx, f, func(r *migrations.Runner) (err error) {
				st, err = r.Status(ctx)
				return err
			})
			if err != nil {
				return d.statusUnreadable(ctx, sc, err)
			}
			d.metrics.migrationStatus(st)
			return d.statusReport(sc, d.now(), migrationFindings(st), st, func() output.Table { return statusTable(st) })
		},
	}
	sc.add(cmd)
	return cmd
}

// migrationFindings is the worst line of migrate status and what explains it.
func migrationFindings(st migrations.Status) findings {
	worst := report.SeverityOK
	for _, m := range st.Migrations {
		worst = max(worst, migrationSeverity(m))
	}
	p := st.Problem()
	if p == nil {
		p = st.IndexProblem()
	}
	if p == nil {
		return actionOr(worst, nil)
	}
	return actionOr(max(worst, report.SeverityAction), checkFailed(p.Summary, problemFix(p)))
}

// migrationSeverity is the severity of a migration's line: its state's, and
// action for an applied file that changed since.
func migrationSeverity(m migrations.MigrationStatus) report.Severity {
	if m.Drift {
		return max(m.State.Severity(), report.SeverityAction)
	}
	return m.State.Severity()
}

func statusTable(st migrations.Status) output.Table {
	t := output.Table{Header: []string{"VERSION", "NAME", "STATE", "APPLIED_AT", "DURATION", "MODE"}}
	for _, m := range st.Migrations {
		state := string(m.State)
		switch m.State {
		case migrations.StateDirty, migrations.StateRunning:
			if in := st.Interrupted; in != nil {
				state = fmt.Sprintf("%s (%s, %d of %d statement(s) done)", strings.ToUpper(state), in.Direction, in.StatementsDone, in.Statements)
			}
		case migrations.StateInvalidIndex:
			state = "applied, INVALID index " + strings.Join(m.InvalidIndexes, ",")
		case migrations.StateUnknownApplied:
			state = "applied (not in this binary)"
		}
		if m.Drift {
			state += " (file changed)"
		}
		applied, dur := "-", "-"
		if m.AppliedAt != nil {
			applied, dur = output.Time(*m.AppliedAt), fmt.Sprintf("%dms", m.DurationMS)
		}
		mode := txMode(m.NoTransaction)
		if m.State == migrations.StateUnknownApplied {
			mode = "-"
		}
		t.Row(migrationSeverity(m), fmt.Sprint(m.Version), orDash(m.Name), state, applied, dur, mode)
	}
	cur := "none"
	if st.CurrentVersion != nil {
		cur = fmt.Sprint(*st.CurrentVersion)
	}
	note := fmt.Sprintf("version %s, %d pending", cur, st.Pending)
	switch {
	case st.Running:
		note += ", a run is in progress"
	case st.Dirty:
		note += ", DIRTY"
	}
	if len(st.UnknownApplied) > 0 {
		note += fmt.Sprintf(", newer than this binary (its newest migration is %d)", st.BinaryVersion)
	}
	t.Notes = []string{note}
	for _, ix := range st.InvalidIndexes {
		t.Notes = append(t.Notes, "INVALID index "+ix.String())
	}
	return t
}
