package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/internal/report"
)

func newWALStatusCmd(d *deps) *cobra.Command {
	var (
		o        backup.WALStatusOptions
		pgBinDir string
		sc       statusCheck
	)
	cmd := &cobra.Command{
		Use:   "status [--max-lag 5m]",
		Short: "Archiver health, newest physical backup and recovery window",
		Long: `Reads pg_stat_archiver (last archived segment and its age, failures, the last
failure with pgBackRest's error message) and the backlog of segments waiting
for archive_command, probes the repository directly with a short timeout (a
dead S3 shows within seconds, where pgBackRest would retry for minutes), then
reads the newest physical backup and the recovery window (the earliest and
latest time 'restore pitr --target-time' can reach).

Archiving that is off or fails, a repository that does not answer (archiving
cannot succeed then), or a segment waiting longer than --max-lag needs action;
a server whose archiver cannot be read is an error. The server is reached with
--database-url when given, else through the socket in the pgBackRest
configuration as the OS user. The backlog needs pg_monitor (or a superuser).
JSON ages are numbers of seconds.`,
		Example: `  sudo -u postgres quantx-db wal status
  quantx-db wal status --max-lag 2m -o json | jq '.lag_seconds, .recovery_window'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			p, cfg, err := d.physical(pgBinDir)
			if err != nil {
				return err
			}
			if err := needPgBackRestConfig(cfg); err != nil {
				return d.statusUnreadable(ctx, sc, err)
			}
			if o.MaxLag <= 0 {
				return usagef("give a positive duration, e.g. --max-lag 5m", "--max-lag %s", o.MaxLag)
			}
			if cfg.DatabaseURL != "" {
				o.DatabaseURL = cfg.DatabaseURL.Reveal()
			}
			st, err := p.WALStatus(ctx, o)
			if err != nil {
				return d.statusUnreadable(ctx, sc, within(scopePhysical, err))
			}
			return d.statusReport(sc, st.CheckedAt, walFindings(st), st, func() output.Table { return walStatusTable(st) })
		},
	}
	cmd.Flags().DurationVar(&o.MaxLag, "max-lag", 5*time.Minute, "a segment waiting for archive_command longer than this needs action")
	cmd.Flags().StringVar(&pgBinDir, "pg-bindir", "", "`DIR` of the server's binaries (pg_waldump), for the recovery window")
	sc.add(cmd)
	return cmd
}

// walFindings is the worst line of wal status and what explains it: the
// archiver that could not be read is an error; any other problem (archiving
// off or failing, a repository that does not answer, a lag) needs action.
func walFindings(st backup.WALStatus) findings {
	var f findings
	for _, p := range st.Problems {
		switch {
		case errors.Is(p, backup.ErrArchiverUnreadable):
			if f.worst < report.SeverityError {
				f.worst, f.problem = report.SeverityError, within(scopePhysical, fmt.Errorf("wal: %w", p))
			}
		case !f.action:
			f.action = true
			if f.worst < report.SeverityError {
				f.worst, f.problem = report.SeverityAction, checkFailed("wal: "+p.Error(), walHint(st))
			}
		}
	}
	if f.worst == 0 {
		f.worst = report.SeverityOK
		if len(st.Warnings) > 0 || (st.NewestBackup == nil && st.Repository.Reachable) {
			f.worst = report.SeverityWarn
		}
	}
	return f
}

func walStatusTable(st backup.WALStatus) output.Table {
	t := output.Table{Header: []string{"ITEM", "STATE", "DETAIL"}}
	row := func(item string, state report.State, detail string) {
		t.Row(state.Severity(), item, string(state), detail)
	}
	state := func(bad bool) report.State {
		if bad {
			return report.StateAction
		}
		return report.StateOK
	}
	for _, p := range st.Problems {
		if errors.Is(p, backup.ErrArchiverUnreadable) {
			row("archiver", report.StateError, p.Error())
		}
	}
	if st.ArchiveMode != "" { // the server's settings were read
		row("archive_mode", state(st.ArchiveMode == "off"), st.ArchiveMode+", archive_timeout "+ageString(st.ArchiveTimeoutSeconds))
		last := "none yet"
		if st.LastArchivedAt != nil {
			last = fmt.Sprintf("%s at %s (%s ago)", st.LastArchivedWAL, output.Time(*st.LastArchivedAt), ageString(*st.LastArchivedAgeSeconds))
		}
		row("last archived", report.StateOK, last)
		fail := fmt.Sprintf("%d failure(s)", st.FailedCount)
		if st.LastFailedAt != nil {
			fail += fmt.Sprintf(", last %s at %s", st.LastFailedWAL, output.Time(*st.LastFailedAt))
		}
		if st.LastFailure != "" {
			fail += ": " + st.LastFailure
		}
		row("failures", state(st.Failing), fail)
		backlog := "unknown (needs pg_monitor)"
		if st.LagSeconds != nil {
			backlog = fmt.Sprintf("%d segment(s) waiting, oldest %s (max %s)", *st.ReadySegments, ageString(*st.LagSeconds), ageString(st.MaxLagSeconds))
		}
		row("backlog", state(st.LagSeconds != nil && *st.LagSeconds > st.MaxLagSeconds), backlog)
	}
	repo := fmt.Sprintf("%s: reachable in %.2fs", st.Repository.Location, st.Repository.Seconds)
	if !st.Repository.Reachable {
		repo = st.Repository.Location + ": " + st.Repository.Error.Error()
	}
	row("repository", state(!st.Repository.Reachable), repo)
	switch {
	case st.NewestBackup != nil:
		row("newest backup", report.StateOK, fmt.Sprintf("%s (%s), %s (%s ago)", st.NewestBackup.ID, st.NewestBackup.Type,
			output.Time(st.NewestBackup.FinishedAt), ageString(st.NewestBackup.AgeSeconds)))
	case st.Repository.Reachable:
		row("newest backup", report.StateWarn, "none: run 'quantx-db backup physical --type full'")
	}
	if st.Window != nil {
		row("recovery window", report.StateOK, st.Window.String())
	}
	for _, p := range st.Problems {
		if !errors.Is(p, backup.ErrArchiverUnreadable) {
			t.Notes = append(t.Notes, "problem: "+p.Error())
		}
	}
	for _, w := range st.Warnings {
		t.Notes = append(t.Notes, "warning: "+w)
	}
	return t
}
