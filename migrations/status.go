package migrations

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/quantx/quantx-db/internal/report"
	"github.com/quantx/quantx-db/partitions"
)

// State is what the database says of one migration: one of the shared
// report states (internal/report), with its severity.
type State = report.State

// The states of a migration in Status.
const (
	StateApplied        = report.StateApplied
	StatePending        = report.StatePending
	StateDirty          = report.StateDirty          // a no-transaction run of it stopped part way; never "applied"
	StateRunning        = report.StateRunning        // dirty, and another session holds the migration lock: a run is in progress
	StateInvalidIndex   = report.StateInvalidIndex   // applied, but an index its file creates is INVALID
	StateUnknownApplied = report.StateUnknownApplied // applied, and this binary has no file for it (a newer release ran it)
)

// Status is the state of every known migration, in version order.
type Status struct {
	CurrentVersion *int64 `json:"current_version"` // null: no version yet
	Dirty          bool   `json:"dirty"`
	Running        bool   `json:"running"` // another session holds the migration lock
	Pending        int    `json:"pending"`
	BinaryVersion  int64  `json:"binary_version"` // the newest version this binary ships; -1: none
	// Interrupted describes the run that left the database dirty; null when not dirty.
	Interrupted    *Interruption     `json:"interrupted"`
	UnknownApplied []uint64          `json:"unknown_applied"` // never nil: applied versions this binary does not ship
	InvalidIndexes []InvalidIndex    `json:"invalid_indexes"` // never nil: every INVALID index in the database
	Migrations     []MigrationStatus `json:"migrations"`      // never nil
}

// InvalidIndex is an INVALID index and, when a migration's file creates it,
// that migration.
type InvalidIndex struct {
	partitions.InvalidIndex
	Version uint64 `json:"version,omitempty"` // the migration that creates it; 0: none
	Rebuild bool   `json:"rebuild"`           // a run up builds it again (a migration creates it CONCURRENTLY)
}

// MigrationStatus is one migration as the database sees it.
type MigrationStatus struct {
	Version        uint64     `json:"version"`
	Name           string     `json:"name"`
	State          State      `json:"state"`
	Applied        bool       `json:"applied"`     // its whole file ran (a dirty migration is not applied)
	AppliedAt      *time.Time `json:"applied_at"`  // null: pending, or applied before history was kept
	Checksum       string     `json:"checksum"`    // sha256 of the up file in this binary; "" for unknown_applied
	DurationMS     int64      `json:"duration_ms"` // of the last successful up
	NoTransaction  bool       `json:"no_transaction"`
	Drift          bool       `json:"drift"`                     // applied from a file whose checksum differs from this one
	InvalidIndexes []string   `json:"invalid_indexes,omitempty"` // schema.name of its INVALID indexes
}

// Status reads the version, history and catalog without taking the lock or
// creating anything, so it is safe against a read-only replica.
func (r *Runner) Status(ctx context.Context) (Status, error) {
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return Status{}, fmt.Errorf("connect: %w", err)
	}
	defer conn.Release()
	cur, dirty, err := r.readVersion(ctx, conn)
	if err != nil {
		return Status{}, err
	}
	applied, err := r.lastApplied(ctx, conn)
	if err != nil {
		return Status{}, err
	}
	unknown, err := r.unknownApplied(ctx, conn)
	if err != nil {
		return Status{}, err
	}
	running, err := r.lockHeld(ctx, conn)
	if err != nil {
		return Status{}, err
	}
	invalid, err := partitions.InvalidIndexes(ctx, conn, "")
	if err != nil {
		return Status{}, err
	}
	st := Status{Dirty: dirty, Running: running, BinaryVersion: r.newest(), UnknownApplied: []uint64{},
		InvalidIndexes: r.ownIndexes(invalid), Migrations: []MigrationStatus{}}
	if cur != noVersion {
		st.CurrentVersion = &cur
	}
	dirtyVersion := int64(-2) // none
	if dirty {
		in, err := r.interruption(ctx, conn, cur)
		if err != nil {
			return Status{}, err
		}
		st.Interrupted, dirtyVersion = &in, int64(in.Version)
	}
	for _, m := range r.migrations {
		ms := MigrationStatus{Version: m.Version, Name: m.Name, Checksum: m.Up.Checksum, NoTransaction: m.Up.NoTransaction, State: StatePending}
		switch {
		case int64(m.Version) == dirtyVersion:
			ms.State = StateDirty
			if running {
				ms.State = StateRunning
			}
		case int64(m.Version) <= cur:
			ms.Applied, ms.State = true, StateApplied
			if a, ok := applied[m.Version]; ok {
				t := a.AppliedAt.UTC()
				ms.AppliedAt, ms.DurationMS = &t, a.DurationMS
				ms.Drift = a.Checksum != "" && a.Checksum != m.Up.Checksum
			}
			for _, ix := range st.InvalidIndexes {
				if ix.Version == m.Version {
					ms.State, ms.InvalidIndexes = StateInvalidIndex, append(ms.InvalidIndexes, ix.Schema+"."+ix.Name)
				}
			}
		default:
			st.Pending++
		}
		st.Migrations = append(st.Migrations, ms)
	}
	if cur != noVersion && r.index(cur) < 0 {
		if _, ok := unknown[uint64(cur)]; !ok {
			unknown[uint64(cur)] = ""
		}
	}
	for v, name := range unknown {
		if int64(v) > cur && cur != noVersion {
			continue // reverted since, by a release that knew it
		}
		ms := MigrationStatus{Version: v, Name: name, State: StateUnknownApplied, Applied: true}
		if a, ok := applied[v]; ok {
			t := a.AppliedAt.UTC()
			ms.AppliedAt, ms.DurationMS = &t, a.DurationMS
		}
		if int64(v) == dirtyVersion {
			ms.State, ms.Applied = StateDirty, false
		}
		st.UnknownApplied = append(st.UnknownApplied, v)
		st.Migrations = append(st.Migrations, ms)
	}
	slices.Sort(st.UnknownApplied)
	slices.SortFunc(st.Migrations, func(a, b MigrationStatus) int { return int(int64(a.Version) - int64(b.Version)) })
	return st, nil
}

// ownIndexes tells, for each INVALID index, which migration's file creates
// it, and whether a run up builds it again: one that a CREATE INDEX
// CONCURRENTLY of a migration creates (applied: rebuilt; pending or
// interrupted: the leftover is dropped before its statement runs).
func (r *Runner) ownIndexes(invalid []partitions.InvalidIndex) []InvalidIndex {
	out := []InvalidIndex{}
	for _, ix := range invalid {
		own := InvalidIndex{InvalidIndex: ix}
	files:
		for _, m := range r.migrations {
			for _, st := range Split(m.Up.SQL) {
				if is, ok := partitions.ParseCreateIndex(st.SQL); ok && is.Builds(ix.Schema, ix.Name, ix.Table) {
					own.Version = m.Version
					own.Rebuild = is.Concurrently && !ix.Building
					break files
				}
			}
		}
		out = append(out, own)
	}
	return out
}

// Finding is one problem found by Validate.
type Finding struct {
	Version  uint64 `json:"version"`
	File     string `json:"file"`
	Kind     string `json:"kind"` // dirty | missing_file | invalid_index | checksum_mismatch (in this order)
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
	Message  string `json:"message"`
}

// Validation is the result of Validate.
type Validation struct {
	CurrentVersion *int64    `json:"current_version"`
	Checked        int       `json:"checked"`    // applied files compared with their recorded checksum
	Unverified     []uint64  `json:"unverified"` // applied before history (baseline, golang-migrate): nothing to compare
	Findings       []Finding `json:"findings"`   // never nil; non-empty means the database is not what the files say
}

// Validate compares every applied migration's file with the checksum
// recorded when it was applied (an edited file means the environments that
// applied the old text and those that will apply the new one differ), and
// reports a dirty version, a version this binary does not ship and every
// INVALID index.
func (r *Runner) Validate(ctx context.Context) (Validation, error) {
	st, err := r.Status(ctx)
	if err != nil {
		return Validation{}, err
	}
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return Validation{}, fmt.Errorf("connect: %w", err)
	}
	defer conn.Release()
	applied, err := r.lastApplied(ctx, conn)
	if err != nil {
		return Validation{}, err
	}
	val := Validation{CurrentVersion: st.CurrentVersion, Unverified: []uint64{}, Findings: []Finding{}}
	cur := noVersion
	if st.CurrentVersion != nil {
		cur = *st.CurrentVersion
	}
	if in := st.Interrupted; in != nil {
		val.Findings = append(val.Findings, Finding{Version: in.Version, File: in.File, Kind: "dirty",
			Message: (&DirtyError{Version: cur, Interruption: *in}).Error()})
	}
	if cur != noVersion && r.index(cur) < 0 {
		val.Findings = append(val.Findings, Finding{Version: uint64(cur), Kind: "missing_file",
			Message: (&VersionError{Database: cur, Newest: r.newest()}).Error()})
	}
	for _, ix := range st.InvalidIndexes {
		f := Finding{Version: ix.Version, Kind: "invalid_index", Message: fmt.Sprintf("index %s is INVALID", ix.InvalidIndex)}
		if i := r.index(int64(ix.Version)); i >= 0 {
			f.File = r.migrations[i].Up.Path
		}
		if ix.Building {
			f.Message += " (being built now)"
		}
		val.Findings = append(val.Findings, f)
	}
	for _, m := range r.migrations {
		if int64(m.Version) > cur {
			break
		}
		if in := st.Interrupted; in != nil && in.Version == m.Version {
			continue // not applied: reported as dirty above
		}
		a, ok := applied[m.Version]
		if !ok || a.Checksum == "" {
			val.Unverified = append(val.Unverified, m.Version)
			continue
		}
		val.Checked++
		if a.Checksum != m.Up.Checksum {
			val.Findings = append(val.Findings, Finding{Version: m.Version, File: m.Up.Path, Kind: "checksum_mismatch",
				Expected: a.Checksum, Actual: m.Up.Checksum,
				Message: fmt.Sprintf("%s was changed after it was applied", m.Up.Path)})
		}
	}
	return val, nil
}
