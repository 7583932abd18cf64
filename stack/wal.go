package stack

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"
	"time"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/internal/report"
)

// WAL archiving findings.
type (
	// WALProblem: archiving is off, fails, lags, or its repository does not
	// answer (Status.Problems lists what).
	WALProblem struct{ Status backup.WALStatus }
	// NoPhysicalBackup: archiving works, but no physical backup exists to
	// restore from.
	NoPhysicalBackup struct{}
	// WALUnreadable: the pgBackRest configuration may not be read by this
	// user (it holds the S3 secret; only the data directory's owner reads it).
	WALUnreadable struct{}
)

// walStatus is the "wal archiving" line of status: skipped when no pgBackRest
// configuration is here.
func walStatus(ctx context.Context, s Stores) Item {
	it := Item{Store: Postgres, Name: "wal archiving"}
	if !s.WAL.Configured() {
		it.State, it.Detail = report.StateSkipped, "no pgBackRest configuration at "+s.WAL.ConfigFile()
		it.Finding = NotConfigured{Store: "wal", Path: s.WAL.ConfigFile()}
		return it
	}
	st, err := s.WAL.WALStatus(ctx, s.WALOptions)
	switch {
	case errors.Is(err, fs.ErrPermission):
		it.State, it.Detail, it.Err, it.Finding = report.StateWarn, err.Error(), err, WALUnreadable{}
		return it
	case err != nil:
		return errorItem(Postgres, "wal archiving", err)
	}
	it.State, it.Detail, it.AgeSeconds = report.StateOK, walSummary(st), st.LastArchivedAgeSeconds
	switch {
	case unreadable(st) != nil:
		return errorItem(Postgres, "wal archiving", unreadable(st))
	case len(st.Problems) > 0:
		it.State, it.Detail, it.Finding = report.StateAction, st.Problems[0].Error(), WALProblem{Status: st}
	case len(st.Warnings) > 0:
		it.State = report.StateWarn
		it.Detail = strings.TrimPrefix(it.Detail+"; "+st.Warnings[0], "; ")
	}
	return it
}

// unreadable is the first problem that left archiving's health unknown (the
// server's archiver could not be read), or nil.
func unreadable(st backup.WALStatus) error {
	for _, p := range st.Problems {
		if errors.Is(p, backup.ErrArchiverUnreadable) {
			return p
		}
	}
	return nil
}

// walSummary condenses a healthy WAL status into one line.
func walSummary(st backup.WALStatus) string {
	var parts []string
	if st.LastArchivedAgeSeconds != nil {
		parts = append(parts, fmt.Sprintf("last archived %s ago", ageString(*st.LastArchivedAgeSeconds)))
	}
	if st.NewestBackup != nil {
		parts = append(parts, fmt.Sprintf("newest physical backup %s, %s old", st.NewestBackup.ID, ageString(st.NewestBackup.AgeSeconds)))
	}
	if st.Window != nil {
		parts = append(parts, "window "+st.Window.String())
	}
	return strings.Join(parts, "; ")
}

// ageString renders an age in seconds for people: "12s", "3m4s", "26h5m0s".
func ageString(seconds float64) string {
	d := time.Duration(seconds * float64(time.Second))
	if d < time.Hour {
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}

// walDoctor checks pgBackRest and WAL archiving when they are set up here.
func walDoctor(ctx context.Context, s Stores) []Item {
	if !s.WAL.Configured() {
		return nil
	}
	var out []Item
	if path, err := exec.LookPath("pgbackrest"); err != nil {
		out = append(out, Item{Store: "tools", Name: "pgbackrest", State: report.StateAction, Detail: "pgbackrest is not on PATH",
			Finding: Tool{Name: "pgbackrest", Missing: true}})
	} else {
		out = append(out, Item{Store: "tools", Name: "pgbackrest", State: report.StateOK, Detail: path})
	}
	it := Item{Store: Postgres, Name: "wal archiving"}
	st, err := s.WAL.WALStatus(ctx, s.WALOptions)
	switch {
	case err != nil:
		return append(out, errorItem(Postgres, "wal archiving", err))
	case unreadable(st) != nil:
		return append(out, errorItem(Postgres, "wal archiving", unreadable(st)))
	case len(st.Problems) > 0:
		var problems []string
		for _, p := range st.Problems {
			problems = append(problems, p.Error())
		}
		it.State, it.Detail, it.Finding = report.StateAction, strings.Join(problems, "; "), WALProblem{Status: st}
	case st.NewestBackup == nil:
		it.State, it.Detail, it.Finding = report.StateWarn, "archiving works, but there is no physical backup to restore from", NoPhysicalBackup{}
	default:
		it.State, it.Detail = report.StateOK, walSummary(st)
	}
	it.AgeSeconds = st.LastArchivedAgeSeconds
	return append(out, it)
}
