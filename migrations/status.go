package migrations

import (
	"context"
	"fmt"
	"time"
)

// Status is the state of every known migration, in version order.
type Status struct {
	CurrentVersion *int64            `json:"current_version"` // null: no version yet
	Dirty          bool              `json:"dirty"`
	Pending        int               `json:"pending"`
	Migrations     []MigrationStatus `json:"migrations"` // never nil
}

// MigrationStatus is one migration as the database sees it.
type MigrationStatus struct {
	Version       uint64     `json:"version"`
	Name          string     `json:"name"`
	Applied       bool       `json:"applied"`
	AppliedAt     *time.Time `json:"applied_at"`  // null: pending, or applied before history was kept
	Checksum      string     `json:"checksum"`    // sha256 of the up file in this binary
	DurationMS    int64      `json:"duration_ms"` // of the last successful up
	NoTransaction bool       `json:"no_transaction"`
	Drift         bool       `json:"drift"` // applied from a file whose checksum differs from this one
}

// Status reads the version and history without taking the lock or creating
// anything, so it is safe against a read-only replica.
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
	st := Status{Dirty: dirty, Migrations: []MigrationStatus{}}
	if cur != noVersion {
		st.CurrentVersion = &cur
	}
	for _, m := range r.migrations {
		ms := MigrationStatus{Version: m.Version, Name: m.Name, Checksum: m.Up.Checksum, NoTransaction: m.Up.NoTransaction}
		if int64(m.Version) <= cur {
			ms.Applied = true
			if a, ok := applied[m.Version]; ok {
				t := a.AppliedAt.UTC()
				ms.AppliedAt, ms.DurationMS = &t, a.DurationMS
				ms.Drift = a.Checksum != "" && a.Checksum != m.Up.Checksum
			}
		} else {
			st.Pending++
		}
		st.Migrations = append(st.Migrations, ms)
	}
	return st, nil
}

// Finding is one problem found by Validate.
type Finding struct {
	Version  uint64 `json:"version"`
	File     string `json:"file"`
	Kind     string `json:"kind"` // checksum_mismatch | missing_file | dirty
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
	Message  string `json:"message"`
}

// Validation is the result of Validate.
type Validation struct {
	CurrentVersion *int64    `json:"current_version"`
	Checked        int       `json:"checked"`    // applied files compared with their recorded checksum
	Unverified     []uint64  `json:"unverified"` // applied before history (baseline, golang-migrate): nothing to compare
	Findings       []Finding `json:"findings"`   // never nil; non-empty means drift
}

// Validate compares every applied migration's file with the checksum
// recorded when it was applied. An edited file means the environments that
// applied the old text and those that will apply the new one differ.
func (r *Runner) Validate(ctx context.Context) (Validation, error) {
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return Validation{}, fmt.Errorf("connect: %w", err)
	}
	defer conn.Release()
	cur, dirty, err := r.readVersion(ctx, conn)
	if err != nil {
		return Validation{}, err
	}
	applied, err := r.lastApplied(ctx, conn)
	if err != nil {
		return Validation{}, err
	}
	val := Validation{Unverified: []uint64{}, Findings: []Finding{}}
	if cur == noVersion {
		return val, nil
	}
	val.CurrentVersion = &cur
	if dirty {
		val.Findings = append(val.Findings, Finding{Version: uint64(cur), Kind: "dirty",
			Message: fmt.Sprintf("database is dirty at version %d", cur)})
	}
	if r.index(cur) < 0 {
		val.Findings = append(val.Findings, Finding{Version: uint64(cur), Kind: "missing_file",
			Message: fmt.Sprintf("version %d is applied but this binary has no file for it", cur)})
	}
	for _, m := range r.migrations {
		if int64(m.Version) > cur {
			break
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
