package migrations

import (
	"fmt"
	"strings"
)

// ProblemKind names what needs doing about a database's migrations.
type ProblemKind string

// The kinds of Problem, in the order Status.Problem checks them.
const (
	ProblemRunning        ProblemKind = "running"         // a no-transaction file is being applied by another session
	ProblemDirty          ProblemKind = "dirty"           // a no-transaction run stopped part way (Interrupted says where)
	ProblemUnknownApplied ProblemKind = "unknown_applied" // applied versions this binary does not ship
	ProblemDrift          ProblemKind = "drift"           // applied files changed since they were applied
	ProblemPending        ProblemKind = "pending"         // migrations to apply
	ProblemInvalidIndex   ProblemKind = "invalid_index"   // INVALID indexes (IndexProblem)
)

// Problem is what needs doing about the migrations of a database, as facts:
// Summary says what is wrong in one line, and the fields say what a caller
// needs to advise a fix (the CLI names the command).
type Problem struct {
	Kind    ProblemKind
	Summary string
	Count   int // pending migrations, drifted files, unknown versions or INVALID indexes
	// Interrupted is the interrupted run (running and dirty), with the versions
	// to force once its work is finished or undone by hand.
	Interrupted *Interruption
	// The INVALID indexes (schema.name) by what clears them: a run up builds
	// Rebuild again; no migration builds Foreign; Building are being built now.
	Rebuild, Foreign, Building []string
}

// Problem reports what needs doing about the migrations, apart from INVALID
// indexes (IndexProblem); nil when nothing does.
func (st Status) Problem() *Problem {
	drift := 0
	for _, m := range st.Migrations {
		if m.Drift {
			drift++
		}
	}
	switch in := st.Interrupted; {
	case in != nil && st.Running:
		return &Problem{Kind: ProblemRunning, Interrupted: in,
			Summary: fmt.Sprintf("migration %d (%s) is running in another session", in.Version, in.Name)}
	case in != nil:
		what := in.File
		if what == "" {
			what = fmt.Sprintf("%d_%s", in.Version, in.Name)
		}
		s := fmt.Sprintf("database is dirty at version %s: %s (%s) stopped after %d", versionString(st.CurrentVersion), what, in.Direction, in.StatementsDone)
		if in.Statements > 0 {
			s += fmt.Sprintf(" of %d", in.Statements)
		}
		s += " statement(s)"
		if in.Error != "" {
			s += ": " + in.Error
		}
		if !in.Resumable {
			s += fmt.Sprintf("; it cannot be resumed (%s)", in.Reason)
		}
		return &Problem{Kind: ProblemDirty, Interrupted: in, Summary: s}
	case len(st.UnknownApplied) > 0:
		s := fmt.Sprintf("applied version(s) %v not shipped by this binary", st.UnknownApplied)
		if st.CurrentVersion != nil {
			s = (&VersionError{Database: *st.CurrentVersion, Newest: st.BinaryVersion}).Error()
		}
		return &Problem{Kind: ProblemUnknownApplied, Count: len(st.UnknownApplied), Summary: s}
	case drift > 0:
		return &Problem{Kind: ProblemDrift, Count: drift, Summary: fmt.Sprintf("%d applied migration(s) changed since they were applied", drift)}
	case st.Pending > 0:
		return &Problem{Kind: ProblemPending, Count: st.Pending, Summary: fmt.Sprintf("%d migration(s) pending", st.Pending)}
	}
	return nil
}

// IndexProblem reports the INVALID indexes of the database, or nil when
// there are none. PostgreSQL updates such an index on every write and never
// reads it: a failed CREATE INDEX CONCURRENTLY leaves one behind.
func (st Status) IndexProblem() *Problem {
	if len(st.InvalidIndexes) == 0 {
		return nil
	}
	p := &Problem{Kind: ProblemInvalidIndex, Count: len(st.InvalidIndexes)}
	var names []string
	for _, ix := range st.InvalidIndexes {
		names = append(names, ix.String())
		name := ix.Schema + "." + ix.Name
		switch {
		case ix.Building:
			p.Building = append(p.Building, name)
		case ix.Rebuild:
			p.Rebuild = append(p.Rebuild, name)
		default:
			p.Foreign = append(p.Foreign, name)
		}
	}
	p.Summary = fmt.Sprintf("%d INVALID index(es): %s", len(names), strings.Join(names, ", "))
	return p
}

func versionString(v *int64) string {
	if v == nil {
		return "none"
	}
	return fmt.Sprint(*v)
}
