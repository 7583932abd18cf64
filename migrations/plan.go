package migrations

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/quantx/quantx-db/partitions"
)

// Direction is "up" or "down".
type Direction string

// The two directions a migration runs in.
const (
	Up   Direction = "up"
	Down Direction = "down"
)

// Plan is what a run would do: the steps in order, each with its SQL.
type Plan struct {
	FromVersion int64         `json:"from_version"` // -1: no version
	ToVersion   int64         `json:"to_version"`
	Steps       []PlannedStep `json:"steps"` // never nil
}

// PlannedStep is one file a run would execute.
type PlannedStep struct {
	Version       uint64    `json:"version"`
	Name          string    `json:"name"`
	Direction     Direction `json:"direction"`
	File          string    `json:"file"`
	NoTransaction bool      `json:"no_transaction"`
	Checksum      string    `json:"checksum"`
	SQL           string    `json:"sql"`
	// Resumes marks the step that finishes an interrupted no-transaction run;
	// ResumeAt statements of it had finished, the step runs the rest.
	Resumes  bool `json:"resumes,omitempty"`
	ResumeAt int  `json:"resume_at,omitempty"`
	// Rebuild names the INVALID indexes of an applied migration that the step
	// builds again (SQL holds their CREATE INDEX statements); it changes no version.
	Rebuild []string `json:"rebuild_indexes,omitempty"`

	m      *Migration
	target int64 // version after this step
	stmts  []Statement
}

// Target says how far a run goes.
type Target struct {
	Direction Direction
	Steps     int    // up to this many steps; 0 means all (Down with 0 reverts everything)
	Version   *int64 // goto: this exact version (-1 reverts everything); overrides Direction and Steps
}

// PlanFor computes the steps from the database's current version, without
// taking the lock or changing anything. It fails as Run would on a database
// it cannot migrate (dirty and not resumable, newer than this binary).
func (r *Runner) PlanFor(ctx context.Context, t Target) (Plan, error) {
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return Plan{}, fmt.Errorf("connect: %w", err)
	}
	defer conn.Release()
	return r.planFrom(ctx, conn, t)
}

// planFrom reads the state of the database and plans t from it: first the
// resumption of an interrupted no-transaction run, then (going up) the
// rebuild of INVALID indexes that applied migrations create, then the files.
func (r *Runner) planFrom(ctx context.Context, q querier, t Target) (Plan, error) {
	cur, dirty, err := r.readVersion(ctx, q)
	if err != nil {
		return Plan{}, err
	}
	p := Plan{FromVersion: cur, ToVersion: cur, Steps: []PlannedStep{}}
	if cur != noVersion && r.index(cur) < 0 {
		return p, &VersionError{Database: cur, Newest: r.newest()}
	}
	base := cur
	var resume *PlannedStep
	if dirty {
		in, err := r.interruption(ctx, q, cur)
		if err != nil {
			return p, err
		}
		// The run must go the way the interrupted one went: finishing an
		// interrupted up is going up, finishing an interrupted down going down.
		sameWay := (in.Direction == Down) == (t.Direction == Down)
		if t.Version != nil {
			sameWay = in.Direction == Up && *t.Version >= in.ForceDone || in.Direction == Down && *t.Version <= in.ForceDone
		}
		if !in.Resumable || !sameWay {
			return p, &DirtyError{Version: cur, Interruption: in}
		}
		m := r.migrations[r.index(int64(in.Version))]
		f := m.Up
		if in.Direction == Down {
			f = m.Down
		}
		st := step(m, in.Direction, f, in.ForceDone)
		st.Resumes, st.ResumeAt = true, in.StatementsDone
		resume = &st
		base = in.ForceDone
	}
	steps, err := r.planSteps(base, t, resume != nil)
	if err != nil {
		return p, err
	}
	if resume != nil {
		p.Steps = append(p.Steps, *resume)
	}
	if t.Direction != Down && (t.Version == nil || *t.Version >= base) {
		skip := uint64(0)
		if resume != nil {
			skip = resume.Version // the resumed run rebuilds its own leftovers
		}
		rebuild, err := r.planRebuilds(ctx, q, base, skip)
		if err != nil {
			return p, err
		}
		p.Steps = append(p.Steps, rebuild...)
	}
	p.Steps = append(p.Steps, steps...)
	if n := len(p.Steps); n > 0 {
		p.ToVersion = p.Steps[n-1].target
	}
	return p, nil
}

// newest is the newest version this binary ships, or noVersion.
func (r *Runner) newest() int64 {
	if len(r.migrations) == 0 {
		return noVersion
	}
	return int64(r.migrations[len(r.migrations)-1].Version)
}

// interruption reads how the dirty version cur came about from the newest
// history row, and whether a run can resume it: the row must be an
// unfinished no-transaction run that ends at cur, and the statements it
// finished must be the same in this binary's file (an edit after them, for
// example the fix of the failing statement, is fine).
func (r *Runner) interruption(ctx context.Context, q querier, cur int64) (Interruption, error) {
	in := Interruption{Direction: Up, ForceDone: cur, ForceUndone: r.previous(cur)}
	if i := r.index(cur); i >= 0 {
		in.Version, in.Name = uint64(cur), r.migrations[i].Name
	} else if cur >= 0 {
		in.Version = uint64(cur)
	}
	h, ok, err := r.lastRun(ctx, q)
	if err != nil {
		return in, err
	}
	if !ok || h.Success || !h.NoTransaction || (h.Direction != string(Up) && h.Direction != string(Down)) {
		in.Reason = "no history row records how far the interrupted run got (it was not run by this version of quantx-db)"
		return in, nil
	}
	in.Version, in.Name, in.Direction = h.Version, h.Name, Direction(h.Direction)
	in.StatementsDone, in.Error = h.Done, h.Err
	i := r.index(int64(h.Version))
	if i < 0 {
		in.Reason = fmt.Sprintf("this binary has no file for version %d", h.Version)
		return in, nil
	}
	m := r.migrations[i]
	f := m.Up
	if in.Direction == Down {
		f = m.Down
		in.ForceDone, in.ForceUndone = r.previous(int64(h.Version)), int64(h.Version)
	} else {
		in.ForceDone, in.ForceUndone = int64(h.Version), r.previous(int64(h.Version))
	}
	if f == nil {
		in.Reason = fmt.Sprintf("this binary has no %s file for version %d", in.Direction, h.Version)
		return in, nil
	}
	in.File = f.Path
	if in.ForceDone != cur {
		in.Reason = fmt.Sprintf("the newest history row (%s of %d) does not end at the dirty version %d", in.Direction, h.Version, cur)
		return in, nil
	}
	stmts := Split(f.SQL)
	in.Statements = len(stmts)
	switch {
	case h.Done > len(stmts):
		in.Reason = fmt.Sprintf("%s now has %d statement(s), fewer than the %d that had finished", f.Path, len(stmts), h.Done)
	case h.DoneSHA != "" && h.DoneSHA != statementsSHA(stmts[:h.Done]):
		in.Reason = fmt.Sprintf("the %d statement(s) of %s that had finished were changed since", h.Done, f.Path)
	case h.DoneSHA == "" && h.Checksum != f.Checksum:
		in.Reason = fmt.Sprintf("%s was changed since the interrupted run", f.Path)
	default:
		in.Resumable = true
	}
	return in, nil
}

// previous is the version before v in this binary's files (noVersion for the first).
func (r *Runner) previous(v int64) int64 {
	i := r.index(v)
	if i <= 0 {
		return noVersion
	}
	return int64(r.migrations[i-1].Version)
}

// statementsSHA identifies the text of the statements that had finished, so
// that a resumed run knows they are still what ran.
func statementsSHA(stmts []Statement) string {
	h := sha256.New()
	for _, st := range stmts {
		h.Write([]byte(st.SQL))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// planRebuilds finds the INVALID indexes that a migration at or below cur
// creates with CREATE INDEX CONCURRENTLY (an interrupted build an older
// release recorded as applied, or one that broke since) and plans to build
// them again with the statement that made them.
func (r *Runner) planRebuilds(ctx context.Context, q querier, cur int64, skip uint64) ([]PlannedStep, error) {
	steps := []PlannedStep{}
	if cur == noVersion {
		return steps, nil
	}
	invalid, err := partitions.InvalidIndexes(ctx, q, "")
	if err != nil {
		return nil, err
	}
	for _, m := range r.migrations {
		if int64(m.Version) > cur {
			break
		}
		if m.Version == skip {
			continue
		}
		var names []string
		var stmts []Statement
		for _, st := range Split(m.Up.SQL) {
			is, ok := partitions.ParseCreateIndex(st.SQL)
			if !ok || !is.Concurrently {
				continue
			}
			hit := false
			for _, ix := range invalid {
				if !ix.Building && is.Builds(ix.Schema, ix.Name, ix.Table) {
					names, hit = append(names, ix.Schema+"."+ix.Name), true
				}
			}
			if hit {
				stmts = append(stmts, st)
			}
		}
		if len(stmts) == 0 {
			continue
		}
		s := step(m, Up, m.Up, cur)
		s.Rebuild, s.stmts, s.NoTransaction = names, stmts, true
		var sql []string
		for _, st := range stmts {
			sql = append(sql, st.SQL+";")
		}
		s.SQL = strings.Join(sql, "\n")
		steps = append(steps, s)
	}
	return steps, nil
}

func (r *Runner) index(v int64) int {
	for i, m := range r.migrations {
		if int64(m.Version) == v {
			return i
		}
	}
	return -1
}

// planSteps lists the files a run from cur goes through. resumed says that
// a resumed step comes first: it counts as one of t.Steps.
func (r *Runner) planSteps(cur int64, t Target, resumed bool) ([]PlannedStep, error) {
	if t.Version != nil {
		goal := *t.Version
		if goal != noVersion && r.index(goal) < 0 {
			return nil, fmt.Errorf("goto %d: %w", goal, ErrUnknownVersion)
		}
		steps := []PlannedStep{}
		switch {
		case goal > cur:
			ups, err := r.planUp(cur, 0)
			if err != nil {
				return nil, err
			}
			for _, s := range ups {
				if int64(s.Version) > goal {
					break
				}
				steps = append(steps, s)
			}
		case goal < cur:
			downs, err := r.planDown(cur, 0)
			if err != nil {
				return nil, err
			}
			for _, s := range downs {
				if int64(s.Version) <= goal {
					break
				}
				steps = append(steps, s)
			}
		}
		return steps, nil
	}
	n := t.Steps
	if resumed && n > 0 {
		n--
		if n == 0 {
			return []PlannedStep{}, nil
		}
	}
	if t.Direction == Down {
		return r.planDown(cur, n)
	}
	return r.planUp(cur, n)
}

// planUp lists the files above cur, oldest first. Like golang-migrate, the
// order is linear: a file numbered below the current version is never run.
func (r *Runner) planUp(cur int64, n int) ([]PlannedStep, error) {
	steps := []PlannedStep{}
	for _, m := range r.migrations {
		if int64(m.Version) <= cur {
			continue
		}
		if n > 0 && len(steps) == n {
			break
		}
		steps = append(steps, step(m, Up, m.Up, int64(m.Version)))
	}
	return steps, nil
}

// planDown lists the files at and below cur, newest first. Every one must
// have a down file, checked before anything runs.
func (r *Runner) planDown(cur int64, n int) ([]PlannedStep, error) {
	steps := []PlannedStep{}
	if cur == noVersion {
		return steps, nil
	}
	i := r.index(cur)
	if i < 0 {
		return nil, &VersionError{Database: cur, Newest: r.newest()}
	}
	for ; i >= 0; i-- {
		if n > 0 && len(steps) == n {
			break
		}
		m := r.migrations[i]
		if m.Down == nil {
			return nil, fmt.Errorf("migration %d (%s) has no down file: it cannot be reverted", m.Version, m.Up.Path)
		}
		prev := noVersion
		if i > 0 {
			prev = int64(r.migrations[i-1].Version)
		}
		steps = append(steps, step(m, Down, m.Down, prev))
	}
	return steps, nil
}

func step(m *Migration, d Direction, f *File, target int64) PlannedStep {
	return PlannedStep{Version: m.Version, Name: m.Name, Direction: d, File: f.Path,
		NoTransaction: f.NoTransaction, Checksum: f.Checksum, SQL: f.SQL, m: m, target: target}
}
