package migrations

import (
	"context"
	"fmt"
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

	m      *Migration
	target int64 // version after this step
}

// Target says how far a run goes.
type Target struct {
	Direction Direction
	Steps     int    // up to this many steps; 0 means all (Down with 0 reverts everything)
	Version   *int64 // goto: this exact version (-1 reverts everything); overrides Direction and Steps
}

// PlanFor computes the steps from the database's current version, without
// taking the lock or changing anything.
func (r *Runner) PlanFor(ctx context.Context, t Target) (Plan, error) {
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return Plan{}, fmt.Errorf("connect: %w", err)
	}
	defer conn.Release()
	cur, _, err := r.readVersion(ctx, conn)
	if err != nil {
		return Plan{}, err
	}
	return r.plan(cur, t)
}

func (r *Runner) index(v int64) int {
	for i, m := range r.migrations {
		if int64(m.Version) == v {
			return i
		}
	}
	return -1
}

func (r *Runner) plan(cur int64, t Target) (Plan, error) {
	p := Plan{FromVersion: cur, ToVersion: cur, Steps: []PlannedStep{}}
	if t.Version != nil {
		goal := *t.Version
		if goal != noVersion && r.index(goal) < 0 {
			return p, fmt.Errorf("goto %d: %w", goal, ErrUnknownVersion)
		}
		switch {
		case goal > cur:
			ups, err := r.planUp(cur, 0)
			if err != nil {
				return p, err
			}
			for _, s := range ups {
				if int64(s.Version) > goal {
					break
				}
				p.Steps = append(p.Steps, s)
			}
		case goal < cur:
			downs, err := r.planDown(cur, 0)
			if err != nil {
				return p, err
			}
			for _, s := range downs {
				if int64(s.Version) <= goal {
					break
				}
				p.Steps = append(p.Steps, s)
			}
		}
	} else {
		var err error
		var steps []PlannedStep
		if t.Direction == Down {
			steps, err = r.planDown(cur, t.Steps)
		} else {
			steps, err = r.planUp(cur, t.Steps)
		}
		if err != nil {
			return p, err
		}
		p.Steps = steps
	}
	if n := len(p.Steps); n > 0 {
		p.ToVersion = p.Steps[n-1].target
	}
	return p, nil
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
		return nil, fmt.Errorf("current version %d: %w (the database is newer than this binary's files)", cur, ErrUnknownVersion)
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
